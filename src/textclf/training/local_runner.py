"""Run a training job the way SageMaker runs the training image, on this machine, without Docker.

Each instance ("host") of the job is a subprocess running the image's `train` program
(`textclf.training.job_launcher`) with `/opt/ml` mapped into a work folder:

    <work>/algo-1/input/data/<channel>/     the channel's files (Downloading)
    <work>/algo-1/input/config/             hyperparameters.json, resourceconfig.json, inputdataconfig.json
    <work>/algo-1/checkpoints/              restored from the checkpoint store before training, and
                                            copied back to it while training runs and at exit
    <work>/algo-1/model/                    packed into <work>/model.tar.gz when training succeeds
    <work>/algo-1/output/failure            the job's FailureReason when the program writes it

The folders are the runner's, as SageMaker's are root's: the training container writes its model,
checkpoints and output to host volumes owned by root (mode 0755), which is why "SageMaker AI expects
all containers to run with root users" (https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html).
A job whose image runs as another user (`JobSpec.image_user`, the Dockerfile's last USER) gets
those folders read-only (0555, what root's 0755 is to another user) and, when the runner is root,
runs without the capabilities that let root write anyway (`setpriv`): its first write fails with
EACCES here as on SageMaker.

Like SageMaker it can stop a job (SIGTERM, a grace period, then SIGKILL), enforce the stopping
condition (MaxRuntime on training time, MaxWait on the whole job), and simulate a Spot
interruption: SIGTERM once training has reached a chosen step, then a fresh "instance" (empty
folders, checkpoints restored from the store) runs the same program again, which resumes.

Progress is read from the checkpoints the program writes (`checkpoint-<step>`), the same files
SageMaker syncs to S3, so "interrupt at step N" means "once a checkpoint at step N or later exists";
pick N as a multiple of `train.save_steps`.

The local cloud (`textclf.localcloud.training`) plugs S3 channels, an S3 checkpoint store and an S3
model upload into this runner; the command line (`python -m textclf.training.local_runner`) uses folders.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

LAUNCHER = (sys.executable, "-m", "textclf.training.job_launcher")
INTERRUPTED_EXIT_CODE = 143
POLL_SECONDS = 0.25
SYNC_SECONDS = 1.0
FAILURE_REASON_LIMIT = 1024  # SageMaker keeps the first 1024 characters of /opt/ml/output/failure


class JobInputError(RuntimeError):
    """The job cannot run as specified (a channel or the checkpoint store could not be read); the
    message is the FailureReason."""


# The volumes the program writes, which SageMaker mounts from the host owned by root.
WRITABLE_VOLUMES = ("model", "checkpoints", "output")
# What a root runner drops so that the program, like a non-root user, cannot write a folder that is
# not writable by its mode (CAP_DAC_OVERRIDE) nor change that mode (CAP_FOWNER).
DROP_ROOT_OVERRIDES = ("--bounding-set=-dac_override,-fowner", "--")


def final_user(dockerfile_text: str) -> str | None:
    """The user an image runs as: the Dockerfile's last USER (None: no USER, so root)."""
    lines = dockerfile_text.splitlines()
    users = [line.split(None, 1)[1].strip() for line in lines if line.startswith("USER ")]
    return users[-1] if users else None


def runs_as_root(user: str | None) -> bool:
    return user is None or user.split(":")[0] in ("0", "root")


class Channel(Protocol):
    def fetch(self, dest: Path) -> None:
        """Put the channel's files into `dest` (an existing, empty folder)."""


class CheckpointStore(Protocol):
    """What `CheckpointConfig.S3Uri` is to SageMaker."""

    def restore(self, local: Path) -> None:
        """Copy every stored checkpoint file into `local`."""

    def save(self, local: Path) -> None:
        """Copy files that are new or changed in `local` to the store (deletions are not synced)."""


class ModelSink(Protocol):
    def put(self, model_tar: Path) -> None:
        """Keep `model.tar.gz` (SageMaker: upload to OutputDataConfig.S3OutputPath)."""


@dataclass(frozen=True)
class FolderChannel:
    folder: Path
    files: tuple[str, ...] | None = None  # None: every file in the folder

    def fetch(self, dest: Path) -> None:
        names = self.files or tuple(p.name for p in self.folder.iterdir() if p.is_file())
        for name in names:
            if not (self.folder / name).is_file():
                raise JobInputError(f"ClientError: {self.folder / name} not found (the channel's data)")
            shutil.copy2(self.folder / name, dest / name)


@dataclass
class FolderCheckpointStore:
    root: Path
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def restore(self, local: Path) -> None:
        if self.root.is_dir():
            shutil.copytree(self.root, local, dirs_exist_ok=True)

    def save(self, local: Path) -> None:
        with self._lock:  # the periodic sync and the final sync may overlap
            for path, key, stamp in changed_files(local, self._seen):
                target = self.root / key
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    shutil.copy2(path, target)
                except FileNotFoundError:  # a temporary file renamed, or a checkpoint rotated away
                    continue
                self._seen[key] = stamp


@dataclass(frozen=True)
class FolderSink:
    folder: Path

    def put(self, model_tar: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy2(model_tar, self.folder / model_tar.name)


def changed_files(
    local: Path, seen: dict[str, tuple[int, int]]
) -> Iterable[tuple[Path, str, tuple[int, int]]]:
    """Files under `local` whose (size, mtime) differ from what `seen` recorded."""
    if not local.is_dir():
        return
    for path in sorted(local.rglob("*")):
        try:
            info = path.stat()
        except FileNotFoundError:  # removed by the trainer's checkpoint rotation meanwhile
            continue
        if not path.is_file():
            continue
        key = path.relative_to(local).as_posix()
        stamp = (info.st_size, info.st_mtime_ns)
        if seen.get(key) != stamp:
            yield path, key, stamp


@dataclass(frozen=True)
class JobSpec:
    """What CreateTrainingJob says, in local terms."""

    channels: dict[str, Channel]
    hyperparameters: dict[str, str]
    instance_count: int = 1
    command: tuple[str, ...] = LAUNCHER
    env: dict[str, str] = field(default_factory=dict)
    max_runtime_seconds: float | None = None
    # Spot only: the whole job, waiting included.
    max_wait_seconds: float | None = None
    # SIGTERM, then this long before SIGKILL (SageMaker gives 120 s).
    stop_grace_seconds: float = 120.0
    # Steps at which to simulate Spot interruptions, one per attempt, in order.
    interrupt_at_steps: tuple[int, ...] = ()
    # Simulated time waiting for (Spot) capacity in Starting, for every attempt.
    starting_seconds: float = 0.0
    # The training image's last USER (`final_user`); None: root, as SageMaker expects.
    image_user: str | None = None


@dataclass
class Outcome:
    status: str  # Completed | Failed | Stopped
    secondary_status: str  # Completed | Failed | Stopped | MaxRuntimeExceeded | MaxWaitTimeExceeded
    failure_reason: str | None = None
    model_tar: Path | None = None
    training_seconds: float = 0.0
    interruptions: int = 0
    exit_codes: list[int] = field(default_factory=list)


StatusCallback = Callable[[str, str], None]
LogCallback = Callable[[str, str], None]


def _print_status(status: str, message: str) -> None:
    print(f"[local-job] {status}: {message}", file=sys.stderr, flush=True)


def _print_log(host: str, line: str) -> None:
    print(f"[{host}] {line}", file=sys.stderr, flush=True)


class _Stopped(Exception):
    def __init__(self, secondary_status: str) -> None:
        super().__init__(secondary_status)
        self.secondary_status = secondary_status


@dataclass
class _Host:
    name: str
    root: Path
    process: subprocess.Popen | None = None
    reader: threading.Thread | None = None
    last_lines: list[str] = field(default_factory=list)

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"


class LocalTrainingJob:
    """One training job: attempts (restarted after each simulated interruption) until an outcome."""

    def __init__(
        self,
        work_dir: Path,
        spec: JobSpec,
        store: CheckpointStore | None = None,
        sink: ModelSink | None = None,
        on_status: StatusCallback = _print_status,
        on_log: LogCallback = _print_log,
    ) -> None:
        self.work_dir = Path(work_dir).resolve()  # the programs run with their instance as cwd
        self.spec = spec
        self.store = store
        self.sink = sink
        self.on_status = on_status
        self.on_log = on_log
        self._stop = threading.Event()
        self._grace_override: float | None = None
        self._started = 0.0
        self._training_seconds = 0.0

    def stop(self, grace_seconds: float | None = None) -> None:
        """StopTrainingJob: the running program gets SIGTERM, then SIGKILL after the grace period."""
        if grace_seconds is not None:
            self._grace_override = grace_seconds
        self._stop.set()

    # -- the job ---------------------------------------------------------------------------------

    def run(self) -> Outcome:
        self._started = time.monotonic()
        interruptions = 0
        try:
            while True:
                interrupt_at = self._interrupt_step(interruptions)
                hosts = self._start_instances(restarted=interruptions > 0)
                exit_codes, interrupted = self._train(hosts, interrupt_at)
                if interrupted:
                    interruptions += 1
                    self.on_status(
                        "Interrupted", "Spot capacity was reclaimed; the job restarts from its checkpoints"
                    )
                    continue
                return self._finish(hosts, exit_codes, interruptions)
        except _Stopped as stopped:
            self.on_status(stopped.secondary_status, _STOP_MESSAGES[stopped.secondary_status])
            return Outcome(
                "Stopped",
                stopped.secondary_status,
                training_seconds=self._training_seconds,
                interruptions=interruptions,
            )
        except JobInputError as error:
            self.on_status("Failed", str(error))
            return Outcome(
                "Failed",
                "Failed",
                str(error)[:FAILURE_REASON_LIMIT],
                training_seconds=self._training_seconds,
                interruptions=interruptions,
            )

    def _interrupt_step(self, attempt: int) -> int | None:
        steps = self.spec.interrupt_at_steps
        return steps[attempt] if attempt < len(steps) else None

    def _start_instances(self, restarted: bool) -> list[_Host]:
        self.on_status(
            "Starting", "Restarting the job on new instances" if restarted else "Launching instances"
        )
        self._sleep_checking(self.spec.starting_seconds)
        self._check_limits()
        names = [f"algo-{i + 1}" for i in range(self.spec.instance_count)]
        hosts = []
        for name in names:
            root = self.work_dir / name
            _make_writable(root)  # a previous attempt's read-only volumes
            shutil.rmtree(root, ignore_errors=True)  # a new instance starts with empty volumes
            for sub in ("input/config", *WRITABLE_VOLUMES):
                (root / sub).mkdir(parents=True)
                (root / sub).chmod(0o755)  # root's volumes on SageMaker: writable by their owner only
            hosts.append(_Host(name, root))
        return hosts

    def _train(self, hosts: list[_Host], interrupt_at: int | None) -> tuple[list[int], bool]:
        phase_started = time.monotonic()
        try:
            self.on_status("Downloading", "Downloading input data and checkpoints")
            for host in hosts:
                self._download(host, [h.name for h in hosts])
            self._check_limits(phase_started)
            self._volumes_for_image_user(hosts)
            self.on_status("Training", "Training in progress")
            port = _free_port()
            for host in hosts:
                self._launch(host, [h.name for h in hosts], port)
            interrupted = self._watch(hosts, interrupt_at, phase_started)
            return [host.process.returncode for host in hosts], interrupted
        finally:
            self._training_seconds += time.monotonic() - phase_started

    def _finish(self, hosts: list[_Host], exit_codes: list[int], interruptions: int) -> Outcome:
        failed = [h for h, code in zip(hosts, exit_codes, strict=True) if code != 0]
        if failed:
            reason = _failure_reason(failed[0])
            self.on_status("Failed", reason)
            return Outcome(
                "Failed",
                "Failed",
                reason,
                training_seconds=self._training_seconds,
                interruptions=interruptions,
                exit_codes=exit_codes,
            )
        started = time.monotonic()
        self.on_status("Uploading", "Uploading the generated training model")
        model_tar = pack_model(hosts[0].model_dir, self.work_dir / "model.tar.gz")
        if self.sink is not None:
            self.sink.put(model_tar)
        self._training_seconds += time.monotonic() - started
        self.on_status("Completed", "Training job completed")
        return Outcome(
            "Completed",
            "Completed",
            model_tar=model_tar,
            training_seconds=self._training_seconds,
            interruptions=interruptions,
            exit_codes=exit_codes,
        )

    # -- one instance ----------------------------------------------------------------------------

    def _download(self, host: _Host, names: list[str]) -> None:
        config = host.root / "input" / "config"
        _write_json(config / "hyperparameters.json", self.spec.hyperparameters)
        _write_json(config / "resourceconfig.json", {"current_host": host.name, "hosts": names})
        input_mode = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
        _write_json(config / "inputdataconfig.json", {name: input_mode for name in self.spec.channels})
        for name, channel in self.spec.channels.items():
            folder = host.root / "input" / "data" / name
            folder.mkdir(parents=True)
            channel.fetch(folder)
        if self.store is not None:
            self.store.restore(host.checkpoints)

    def _volumes_for_image_user(self, hosts: list[_Host]) -> None:
        """An image that runs as another user than root cannot write the volumes."""
        if runs_as_root(self.spec.image_user):
            return
        if os.geteuid() == 0 and shutil.which("setpriv") is None:
            raise JobInputError(
                f"the image runs as user {self.spec.image_user}, and SageMaker mounts /opt/ml/model, "
                "/opt/ml/checkpoints and /opt/ml/output owned by root: the local runner needs setpriv "
                "(util-linux) to show the job failing as it would; run the image as root"
            )
        for host in hosts:
            for sub in WRITABLE_VOLUMES:
                (host.root / sub).chmod(0o555)

    def _command(self) -> list[str]:
        if not runs_as_root(self.spec.image_user) and os.geteuid() == 0:
            return [str(shutil.which("setpriv")), *DROP_ROOT_OVERRIDES, *self.spec.command]
        return list(self.spec.command)

    def _environment(self, host: _Host, port: int) -> dict[str, str]:
        env = {**os.environ, **self.spec.env}
        for name in self.spec.channels:
            env[f"SM_CHANNEL_{name.upper()}"] = str(host.root / "input" / "data" / name)
        env.update(
            SM_MODEL_DIR=str(host.model_dir),
            SM_CHECKPOINT_DIR=str(host.checkpoints),
            SM_OUTPUT_DIR=str(host.root / "output"),
            SM_INPUT_CONFIG_DIR=str(host.root / "input" / "config"),
            SM_CURRENT_HOST=host.name,
            TEXTCLF_MASTER_ADDR="127.0.0.1",
            TEXTCLF_MASTER_PORT=str(port),
            # The datasets library caches under $HOME otherwise; an instance has its own disk.
            HF_DATASETS_CACHE=str(host.root / "tmp" / "datasets"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("SM_HPS", None)  # the job's hyperparameters are in input/config, as on SageMaker
        if self.spec.instance_count > 1 and "OMP_NUM_THREADS" not in env:
            # Each SageMaker instance has its cores to itself; here the instances share this
            # machine's, and PyTorch's default of a thread per core in each process oversubscribes
            # them (bench/threads.py: two processes side by side train far slower than one).
            env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // self.spec.instance_count))
        return env

    def _launch(self, host: _Host, names: list[str], port: int) -> None:
        host.process = subprocess.Popen(
            self._command(),
            cwd=host.root,
            env=self._environment(host, port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # SIGKILL reaches torchrun's workers too
        )
        host.reader = threading.Thread(target=self._read_output, args=(host,), daemon=True)
        host.reader.start()

    def _read_output(self, host: _Host) -> None:
        assert host.process is not None and host.process.stdout is not None
        pending = b""
        while chunk := host.process.stdout.read1(65536):
            # Progress bars redraw with \r: each redraw is a line, as in CloudWatch.
            parts = (pending + chunk).replace(b"\r", b"\n").split(b"\n")
            pending = parts.pop()
            self._emit(host, parts)
        self._emit(host, [pending])

    def _emit(self, host: _Host, raw_lines: list[bytes]) -> None:
        for raw in raw_lines:
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                host.last_lines = [*host.last_lines[-19:], line]
                self.on_log(host.name, line)

    def _watch(self, hosts: list[_Host], interrupt_at: int | None, phase_started: float) -> bool:
        """Wait for every host's program to exit. True when a simulated interruption ended it."""
        last_sync = time.monotonic()
        try:
            while any(h.process.poll() is None for h in hosts):
                time.sleep(POLL_SECONDS)
                if time.monotonic() - last_sync >= SYNC_SECONDS:
                    self._sync_checkpoints(hosts)
                    last_sync = time.monotonic()
                self._check_limits(phase_started)
                if interrupt_at is not None and _reached_step(hosts, interrupt_at):
                    self.on_log(hosts[0].name, f"[local-job] Spot interruption at step >= {interrupt_at}")
                    self._terminate(hosts)
                    return True
            return False
        except _Stopped:
            self._terminate(hosts)
            raise
        finally:
            for host in hosts:
                if host.reader is not None:
                    host.reader.join(timeout=10)
            self._sync_checkpoints(hosts)  # SageMaker uploads what is left when the program ends

    def _terminate(self, hosts: list[_Host]) -> None:
        """SIGTERM to each instance's program, as `docker stop` sends it to PID 1; SIGKILL after grace."""
        for host in hosts:
            if host.process.poll() is None:
                host.process.send_signal(signal.SIGTERM)
        grace = self.spec.stop_grace_seconds if self._grace_override is None else self._grace_override
        deadline = time.monotonic() + grace
        for host in hosts:
            with contextlib.suppress(subprocess.TimeoutExpired):
                host.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(host.process.pid, signal.SIGKILL)  # whatever is left of the instance
            host.process.wait()

    def _sync_checkpoints(self, hosts: list[_Host]) -> None:
        if self.store is not None:
            for host in hosts:
                self.store.save(host.checkpoints)

    def _check_limits(self, phase_started: float | None = None) -> None:
        if self._stop.is_set():
            raise _Stopped("Stopped")
        now = time.monotonic()
        training = self._training_seconds + (now - phase_started if phase_started is not None else 0.0)
        if self.spec.max_runtime_seconds is not None and training > self.spec.max_runtime_seconds:
            raise _Stopped("MaxRuntimeExceeded")
        if self.spec.max_wait_seconds is not None and now - self._started > self.spec.max_wait_seconds:
            raise _Stopped("MaxWaitTimeExceeded")

    def _sleep_checking(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._check_limits()
            time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


_STOP_MESSAGES = {
    "Stopped": "The job was stopped (StopTrainingJob)",
    "MaxRuntimeExceeded": "The job exceeded MaxRuntimeInSeconds and was stopped",
    "MaxWaitTimeExceeded": "The job exceeded MaxWaitTimeInSeconds (waiting plus runtime) and was stopped",
}


def _reached_step(hosts: list[_Host], step: int) -> bool:
    for host in hosts:
        for folder in host.checkpoints.glob("checkpoint-*"):
            suffix = folder.name.rsplit("-", 1)[-1]
            if suffix.isdigit() and int(suffix) >= step and (folder / "trainer_state.json").is_file():
                return True
    return False


def _failure_reason(host: _Host) -> str:
    if host.failure_file.is_file():
        text = host.failure_file.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            return text[:FAILURE_REASON_LIMIT]
    code = host.process.returncode
    last = host.last_lines[-1] if host.last_lines else "(no output)"
    return (
        f"AlgorithmError: the training program on {host.name} exited with code {code}; last output: {last}"[
            :FAILURE_REASON_LIMIT
        ]
    )


def _make_writable(root: Path) -> None:
    if root.is_dir():
        for folder in [root, *root.rglob("*")]:
            if folder.is_dir() and not folder.is_symlink():
                folder.chmod(0o755)


def pack_model(model_dir: Path, target: Path) -> Path:
    """model.tar.gz with the model folder's files at the archive root, as SageMaker packs it."""
    tmp = target.with_name(f".{target.name}.tmp")
    with tarfile.open(tmp, "w:gz") as archive:
        for path in sorted(model_dir.rglob("*")):
            archive.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
    tmp.replace(target)
    return target


def _write_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Command line: the offline rehearsal of a SageMaker job (`make sagemaker-local`)


# The params sections the job reads: data (prepared_dir), model and train (the hyperparameters),
# deploy.serve (the export's quantize): a file without one is refused, never run on built-in defaults.
NEEDS = ("data", "model", "train", "deploy", "deploy.serve")
# Each instance is a training process on this machine.
MAX_LOCAL_INSTANCES = 8
DEFAULT_DOCKERFILE = "docker/train.Dockerfile"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1 or not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _instances(text: str) -> int:
    value = _positive(text)
    if value > MAX_LOCAL_INSTANCES:
        raise argparse.ArgumentTypeError(
            f"{value} instances: at most {MAX_LOCAL_INSTANCES} here (each one is a training process on "
            "this machine); SageMaker itself takes up to sagemaker.instance_count's limit"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m textclf.training.local_runner",
        description="Run the training image's entry point as SageMaker would, on this machine (no Docker).",
    )
    parser.add_argument(
        "--params", default="params.yaml", help="params file (hyperparameters from model/train)"
    )
    parser.add_argument("--work", default="work/local-job", help="work folder (the instances' /opt/ml)")
    parser.add_argument("--checkpoints", default="work/local-job-checkpoints", help="checkpoint store folder")
    parser.add_argument("--out", default="work/local-job-output", help="where model.tar.gz is put")
    parser.add_argument(
        "--instance-count", type=_instances, default=1, help=f"1 to {MAX_LOCAL_INSTANCES} (default: 1)"
    )
    parser.add_argument(
        "--dockerfile",
        default=None,
        help="the training image's Dockerfile: the job runs as its last USER, as SageMaker runs it "
        f"(default: {DEFAULT_DOCKERFILE} when present, else root)",
    )
    parser.add_argument(
        "--interrupt-at-step",
        type=_positive,
        action="append",
        default=[],
        help="simulate a Spot interruption once a checkpoint at this step exists (repeat for more)",
    )
    return parser


class _ArgumentError(ValueError):
    """A folder or file argument the job cannot use; the message names it and what to do."""


def _check_folders(work: Path, checkpoints: Path, out: Path) -> None:
    """Each folder argument is a folder or absent, and the checkpoint store lies apart from the work
    folder (every attempt deletes the instances' folders under --work)."""
    for flag, path in (("--work", work), ("--checkpoints", checkpoints), ("--out", out)):
        if path.exists() and not path.is_dir():
            raise _ArgumentError(f"{flag} {path}: exists and is not a folder; pass a folder")
    work_abs, store_abs = work.resolve(), checkpoints.resolve()
    if work_abs == store_abs or work_abs in store_abs.parents or store_abs in work_abs.parents:
        raise _ArgumentError(
            f"--checkpoints {checkpoints} and --work {work} overlap: each attempt empties the "
            "instances' folders under --work, and the store must outlive them; pass separate folders"
        )


def _image_user(flag: str | None) -> str | None:
    """The Dockerfile's last USER: --dockerfile must be a readable UTF-8 file; the default is used
    when present."""
    path = Path(flag or DEFAULT_DOCKERFILE)
    if flag is None and not path.is_file():
        return None
    try:
        return final_user(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _ArgumentError(f"--dockerfile {path}: not found; pass the image's Dockerfile") from None
    except IsADirectoryError:
        raise _ArgumentError(f"--dockerfile {path}: is a folder; pass the Dockerfile itself") from None
    except UnicodeDecodeError as error:
        raise _ArgumentError(
            f"--dockerfile {path}: bytes that are not UTF-8 at byte {error.start}; pass a text Dockerfile"
        ) from None
    except OSError as error:
        raise _ArgumentError(f"--dockerfile {path}: cannot be read ({error.strerror})") from None


def main(argv: list[str] | None = None) -> int:
    from textclf.config import ParamsError, load_params
    from textclf.pipeline.train import Hyperparameters

    args = _parser().parse_args(argv)
    try:
        params = load_params(args.params, needs=NEEDS)
        image_user = _image_user(args.dockerfile)
        _check_folders(Path(args.work), Path(args.checkpoints), Path(args.out))
    except (ParamsError, _ArgumentError) as error:
        print(f"[local-job] error: {error}", file=sys.stderr)
        return 2
    prepared = Path(params.data.prepared_dir)
    missing = [f for f in ("train.jsonl", "validation.jsonl", "labels.json") if not (prepared / f).is_file()]
    if missing:
        print(
            f"[local-job] error: {prepared} lacks {', '.join(missing)}: run `textclf prepare` first",
            file=sys.stderr,
        )
        return 2
    spec = JobSpec(
        channels={
            "train": FolderChannel(prepared, ("train.jsonl", "labels.json")),
            "validation": FolderChannel(prepared, ("validation.jsonl",)),
        },
        hyperparameters=Hyperparameters.from_params(params).for_sagemaker(),
        instance_count=args.instance_count,
        interrupt_at_steps=tuple(args.interrupt_at_step),
        stop_grace_seconds=30.0,
        image_user=image_user,
    )
    job = LocalTrainingJob(
        Path(args.work), spec, FolderCheckpointStore(Path(args.checkpoints)), FolderSink(Path(args.out))
    )
    try:
        outcome = job.run()
    except KeyboardInterrupt:
        return 130
    except OSError as error:  # a folder that cannot be written (permissions, a full disk)
        where = f"{error.filename}: " if error.filename else ""
        print(f"[local-job] error: {where}{error.strerror or error}; check the folder", file=sys.stderr)
        return 1
    summary = {
        "status": outcome.status,
        "secondary_status": outcome.secondary_status,
        "failure_reason": outcome.failure_reason,
        "training_seconds": round(outcome.training_seconds, 1),
        "interruptions": outcome.interruptions,
        "model": str(Path(args.out) / "model.tar.gz") if outcome.model_tar else None,
    }
    print(json.dumps(summary), flush=True)
    return 0 if outcome.status == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main())
