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
    from textclf.champion import ChampionError
    from textclf.gate import GateError
    from textclf.modeling import ModelNotFoundError
    from textclf.prepare import DataError
    from textclf.report import ReportError

    return (*USER_ERRORS, DataError, ModelNotFoundError, ChampionError, GateError, ReportError)


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


def cmd_serve(args: argparse.Namespace) -> None:
    """The inference server; also the serving image's `serve` program (SageMaker contract)."""
    from textclf import serve

    params = load_params(args.params)
    try:
        serve.run(Path(args.model_dir), args.host, args.port, params.deploy.serve, params.model.max_length)
    except serve.ModelDirError as error:
        log(f"error: {error}")
        raise SystemExit(2) from None


def cmd_redeploy(args: argparse.Namespace) -> None:
    """Run the redeploy Lambda's handler here, against AWS_ENDPOINT_URL (the local cloud) or AWS."""
    from textclf import redeploy

    status = redeploy.main_cli(args.event)
    if status:
        raise SystemExit(status)


def cmd_gate(args: argparse.Namespace) -> None:
    from textclf import gate

    verdict = gate.run(load_params(args.params), args.base, args.champion)
    for line in gate.summary(verdict):
        log(line)
    log(f"wrote {gate.VERDICT_FILE}")
    if verdict["verdict"] != "pass":
        raise SystemExit(1)  # the PR check goes red; the report shows why


def cmd_report(args: argparse.Namespace) -> None:
    from textclf import gate, report

    verdict = report.write(load_params(args.params), args.base, args.champion, args.commit_sha)
    log(f"wrote {report.REPORT_FILE} and {gate.VERDICT_FILE} (gate: {verdict['verdict']})")


def cmd_champion(args: argparse.Namespace) -> None:
    import json

    from textclf import champion

    params = load_params(args.params)
    if args.action == "record":
        if not args.model_version:
            raise champion.ChampionError("record needs --model-version (the released model's commit)")
        payload = champion.record(
            params.aws.resolved(), Path(args.metrics), args.model_version, params.evaluate.main_metric
        )
        log(f"recorded model {payload['model_version']} as production's metrics")
        return
    lookup = champion.find(params.aws.resolved(), args.base, args.champion)
    found = lookup.champion
    print(json.dumps({"note": lookup.note, "champion": None if found is None else found.__dict__}, indent=2))


def _comparison_args(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    from textclf.champion import SOURCES

    command.add_argument("--base", default="main", help="git ref to compare with (default: %(default)s)")
    command.add_argument(
        "--champion",
        choices=SOURCES,
        default="auto",
        help="where production's metrics come from: bucket, main, or auto (bucket when AWS credentials "
        "are configured, else main; default)",
    )
    return command


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
    _comparison_args(add("gate", cmd_gate, "Judge metrics/eval.json on thresholds and against production"))
    report = _comparison_args(add("report", cmd_report, "Write the PR report reports/report.md"))
    report.add_argument("--commit-sha", help="commit the model came from (CI: the PR head; default: HEAD)")
    champ = _comparison_args(add("champion", cmd_champion, "Show the champion, or record it at release"))
    champ.add_argument("action", choices=("show", "record"), help="show production's metrics, or record them")
    champ.add_argument("--model-version", help="record: the git commit of the released model")
    champ.add_argument("--metrics", default="metrics/eval.json", help="record: metrics file (%(default)s)")
    from textclf import serve  # light: torch loads only when the server starts

    serve.add_arguments(add("serve", cmd_serve, "Run the inference server (GET /ping, POST /invocations)"))
    redeploy = add("redeploy", cmd_redeploy, "Run the endpoint-redeploy Lambda handler locally", params=False)
    redeploy.add_argument("--event", required=True, help="JSON event file (schema: textclf.redeploy)")
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
