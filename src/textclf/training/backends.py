"""Where the train stage runs: the one place that reads `train.backend` (or TEXTCLF_TRAIN_BACKEND).

`dvc.yaml` runs `textclf train` for every backend; the stage itself (`textclf.pipeline.train`) only
knows it is handed a backend, so the pipeline never imports the training wing.
"""

from __future__ import annotations

from textclf.config import Params
from textclf.pipeline import train


def backend_for(params: Params) -> train.Backend:
    if params.train_backend == "sagemaker":
        from textclf.training import sagemaker  # boto3 and the job plumbing only when asked for

        sagemaker.preflight(params)  # settings and AWS settings, before the stage removes its outputs
        return sagemaker.run
    return train.run_local


def run_train_stage(params: Params) -> None:
    train.run_stage(params, backend_for(params))
