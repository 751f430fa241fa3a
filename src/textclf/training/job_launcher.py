"""The training image's `train` program: one training process, or torchrun for several.

SageMaker starts the same container on every instance of a job and describes the cluster in
`/opt/ml/input/config/resourceconfig.json`: `{"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}`.
With one host and at most one GPU this becomes `textclf train-job` itself. Otherwise torchrun
starts one worker per GPU (one per host on CPU) on every host, with `hosts[0]` as the rendezvous
point; the HuggingFace Trainer reads the ranks torchrun sets, trains data parallel, and only world
rank 0 writes checkpoints and the model.

The launcher replaces itself with the command (exec), so SageMaker's SIGTERM (Spot interruption,
StopTrainingJob, MaxRuntime) reaches the training process or torchrun directly.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

CONFIG_DIR_ENV = "SM_INPUT_CONFIG_DIR"
DEFAULT_CONFIG_DIR = "/opt/ml/input/config"
# The address of hosts[0] as the other hosts reach it. SageMaker resolves the host names itself;
# the local runner, whose hosts are processes on one machine, sets 127.0.0.1.
MASTER_ADDR_ENV = "TEXTCLF_MASTER_ADDR"
MASTER_PORT_ENV = "TEXTCLF_MASTER_PORT"
DEFAULT_MASTER_PORT = 29500
TRAIN_JOB = ["-m", "textclf.cli", "train-job"]


def read_resource_config(config_dir: Path) -> dict[str, Any]:
    """The cluster description; a single host when the file is absent (a plain `docker run`)."""
    path = config_dir / "resourceconfig.json"
    if not path.is_file():
        return {"current_host": "algo-1", "hosts": ["algo-1"]}
    config = json.loads(path.read_text(encoding="utf-8"))
    if config.get("current_host") not in config.get("hosts", []):
        raise ValueError(f"{path}: current_host {config.get('current_host')!r} is not among hosts")
    return config


def gpu_count() -> int:
    import torch

    return torch.cuda.device_count()


def launch_command(
    resource_config: dict[str, Any],
    gpus: int,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
) -> list[str]:
    """The command line this host runs."""
    env = os.environ if env is None else env
    hosts = list(resource_config["hosts"])
    if len(hosts) == 1 and gpus <= 1:
        return [python, *TRAIN_JOB]
    return [
        python,
        "-m",
        "torch.distributed.run",
        f"--nnodes={len(hosts)}",
        f"--node_rank={hosts.index(resource_config['current_host'])}",
        f"--nproc_per_node={max(gpus, 1)}",
        f"--master_addr={env.get(MASTER_ADDR_ENV) or hosts[0]}",
        f"--master_port={env.get(MASTER_PORT_ENV) or DEFAULT_MASTER_PORT}",
        *TRAIN_JOB,
    ]


def main() -> None:
    config_dir = Path(os.environ.get(CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR))
    config = read_resource_config(config_dir)
    command = launch_command(config, gpu_count() if len(config["hosts"]) > 1 or _may_have_gpus() else 0)
    print(f"[train] {config['current_host']} of {len(config['hosts'])}: {' '.join(command)}", flush=True)
    os.execv(command[0], command)


def _may_have_gpus() -> bool:
    """Skip importing torch (about a second) where no NVIDIA device exists."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists()


if __name__ == "__main__":
    main()
