"""`textclf`: one command with a subcommand per pipeline stage and cloud part.

Every subcommand prints one line per step with its timing, and exits non-zero with a message
that names the file, row or setting to fix when its input is wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from textclf.config import PARAMS_FILE, ParamsError, load_params

# Errors the user can act on: printed without a traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (ParamsError,)


def _user_errors() -> tuple[type[BaseException], ...]:
    from textclf.modeling import ModelNotFoundError
    from textclf.prepare import DataError

    return (*USER_ERRORS, DataError, ModelNotFoundError)


def log(message: str) -> None:
    print(f"[textclf] {message}", file=sys.stderr, flush=True)


def _timed(name: str, action: Callable[[], object]) -> object:
    started = time.perf_counter()
    log(f"{name} ...")
    result = action()
    log(f"{name} done in {time.perf_counter() - started:.1f} s")
    return result


def cmd_sample_data(args: argparse.Namespace) -> None:
    from textclf import sample_data

    path = sample_data.write_sample(Path(args.out))
    log(f"wrote the bundled sample to {path}")


def cmd_prepare(args: argparse.Namespace) -> None:
    from textclf import prepare

    params = load_params(args.params)
    summary = _timed("prepare", lambda: prepare.run(params.data))
    rows = summary["rows"]
    log(f"rows: train {rows['train']}, validation {rows['validation']}, test {rows['test']}")


def cmd_train(args: argparse.Namespace) -> None:
    from textclf import train

    params = load_params(args.params)
    _timed(f"train ({params.train_backend} backend)", lambda: train.run_stage(params))


def cmd_train_job(args: argparse.Namespace) -> None:
    """The SageMaker `train` program: reads the container contract's paths and hyperparameters."""
    from textclf import train

    train.main_job()


def cmd_evaluate(args: argparse.Namespace) -> None:
    from textclf import evaluate

    params = load_params(args.params)
    verdict = _timed("evaluate", lambda: evaluate.run(params))
    log(f"gate (thresholds): {verdict['verdict']}")


def cmd_local_cloud(args: argparse.Namespace) -> None:
    from textclf.localcloud.server import serve_forever

    serve_forever(args.port, Path(args.env_file) if args.env_file else None)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="textclf", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable, help_text: str, params: bool = True) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text)
        if params:
            command.add_argument("--params", default=str(PARAMS_FILE), help="params file (default: %(default)s)")
        command.set_defaults(handler=handler)
        return command

    sample = add("sample-data", cmd_sample_data, "Write the bundled sample dataset", params=False)
    sample.add_argument("--out", default="data/raw", help="folder to write messages.csv to")
    add("prepare", cmd_prepare, "Stage prepare: validate, clean and split the raw data")
    add("train", cmd_train, "Stage train: fine-tune the model (local or SageMaker backend)")
    add("train-job", cmd_train_job, "The training container's entry point (SageMaker contract)", params=False)
    add("evaluate", cmd_evaluate, "Stage evaluate: metrics, confusion matrix, threshold verdict")
    cloud = add("local-cloud", cmd_local_cloud, "Run the local cloud (moto) until interrupted", params=False)
    cloud.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    cloud.add_argument("--env-file", default=".localcloud/env", help="where to write the client environment")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except _user_errors() as error:
        log(f"error: {error}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
