"""The training image's `train` program: one training process, or torchrun for several.

SageMaker starts the same container on every instance of a job and describes the cluster in
`/opt/ml/input/config/resourceconfig.json`: `{"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}`.
With one host and at most one GPU this becomes `textclf train-job` itself. Otherwise torchrun
starts one worker per GPU (one per host on CPU) on every host, with `hosts[0]` as the rendezvous
point; the HuggingFace Trainer reads the ranks torchrun sets, trains data parallel, and only world
rank 0 writes checkpoints and the model.

The launcher replaces itself with the command (exec), so SageMaker's SIGTERM (Spot interruption,
StopTrainingJob, MaxRuntime) reaches the training process or torchrun directly.

Before that it checks the data: a job started with TEXTCLF_DATASET_MD5 and TEXTCLF_DATASET_LISTING
in its environment (textclf.training.sagemaker: DVC's digest of data/prepared and the listing that
digest is the md5 of) trains only on channels whose every file has the md5 the listing gives it.
Anything else fails the job before training, with the file named in /opt/ml/output/failure (the
job's FailureReason), so bytes written under another dataset's address are never trained on.
"""

from __future__ import annotations

import hashlib
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
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as error:  # also bytes that are not UTF-8
        raise ResourceConfigError(f"{path}: not JSON ({str(error)[:200]})") from None
    hosts = config.get("hosts") if isinstance(config, dict) else None
    if not (isinstance(hosts, list) and hosts and all(isinstance(host, str) and host for host in hosts)):
        raise ResourceConfigError(f'{path}: expected {{"current_host": "...", "hosts": ["...", ...]}}')
    if config.get("current_host") not in hosts:  # a list: "algo" is not found in "algo-1"
        raise ResourceConfigError(
            f"{path}: current_host {str(config.get('current_host'))[:100]!r} is not among hosts"
        )
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


class ChannelMismatch(ValueError):
    """A channel's file is not the one the job's dataset digest names."""


class ResourceConfigError(ValueError):
    """SageMaker's resourceconfig.json is not the cluster description the launcher reads."""


def check_channels(env: dict[str, str], root: Path = Path("/opt/ml")) -> int:
    """Every file in the job's channels has the md5 its listing gives; the listing's md5 is the
    dataset digest. Returns the number of files checked; nothing to check without the two variables."""
    digest, listing = env.get("TEXTCLF_DATASET_MD5"), env.get("TEXTCLF_DATASET_LISTING")
    if not digest and not listing:
        return 0
    if (
        not (digest and listing)
        or hashlib.md5(listing.encode(), usedforsecurity=False).hexdigest() + ".dir" != digest
    ):
        raise ChannelMismatch("TEXTCLF_DATASET_LISTING is not the listing whose md5 is TEXTCLF_DATASET_MD5")
    try:
        expected = {entry["relpath"]: entry["md5"] for entry in json.loads(listing)}
    except (ValueError, TypeError, KeyError):
        raise ChannelMismatch("TEXTCLF_DATASET_LISTING is not a list of {md5, relpath}") from None
    checked = 0
    for channel in ("train", "validation"):
        folder = Path(env.get(f"SM_CHANNEL_{channel.upper()}", root / "input" / "data" / channel))
        for path in sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []:
            name = path.relative_to(folder).as_posix()
            if name not in expected:
                raise ChannelMismatch(f"channel {channel}: {name} is not in dataset {digest}")
            actual = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
            if actual != expected[name]:
                raise ChannelMismatch(
                    f"channel {channel}: {name} has md5 {actual}, dataset {digest} lists {expected[name]}: "
                    "not the data this job was started for"
                )
            checked += 1
    return checked


def main() -> None:
    try:
        check_channels(dict(os.environ))
        config = read_resource_config(Path(os.environ.get(CONFIG_DIR_ENV, DEFAULT_CONFIG_DIR)))
    except (ChannelMismatch, ResourceConfigError) as error:
        # SageMaker shows this file's first 1024 characters as the job's FailureReason.
        output = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"))
        output.mkdir(parents=True, exist_ok=True)
        (output / "failure").write_text(f"{type(error).__name__}: {error}"[:1024], encoding="utf-8")
        print(f"[train] {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    command = launch_command(config, gpu_count() if len(config["hosts"]) > 1 or _may_have_gpus() else 0)
    print(f"[train] {config['current_host']} of {len(config['hosts'])}: {' '.join(command)}", flush=True)
    os.execv(command[0], command)


def _may_have_gpus() -> bool:
    """Skip importing torch (about a second) where no NVIDIA device exists."""
    return Path("/proc/driver/nvidia").exists() or Path("/dev/nvidia0").exists()


if __name__ == "__main__":
    main()
