"""Benchmark the ONNX Runtime server against the PyTorch server it replaced, in one run, on 2 CPUs.

Three servers over the trained model (default `models/model`) and the test split:

- `torch`: the reference, the server as it was (transformers + torch, fp32; bench/torch_reference.py);
- `onnx`: `textclf serve` on `model.onnx` (fp32);
- `onnx_int8`: `textclf serve` on `model.int8.onnx` (made here from model.onnx when the model
  folder lacks it, with the train stage's own quantization function).

Measured: cold start (process start to the first `GET /ping` 200, median of N, servers taking
turns), latency p50/p95 of one short text and throughput of batches of 32 through HTTP on
127.0.0.1 (one kept-alive connection; the servers take turns in blocks, so a ratio compares runs
under the same load), peak RSS (VmHWM), test accuracy through each server, and the installed size
of each dependency set (pip install --target into an empty folder). `build/bench/serve.json`
holds everything; its top-level keys are the ratios of the served variant (the graph the model
folder's serving.json names) over the reference, with the goals they are held to.

The server's own overhead (HTTP, JSON, request checks, signals) is measured against the same ONNX
graph called directly in this process (`direct`: `Predictor.predict`, no HTTP), taking turns with
the servers: `server_overhead_p50` is the served variant's p50 over the direct call's. The served
server's signals say how much of each request the model took (`graph_ms`) and the rest of its time
in the server: with the client's figure, the overhead splits into the model's call in the server,
the server's handling and the HTTP transport (`server_overhead`).

Like with like (`threads`, `padding`, `gemm_bound`): both servers compute on the same 2 CPUs with as
many threads, pad each batch to its longest text, tokenize once per request; the batch figure is
set beside the time the batch's dense matmuls alone take as plain fp32 GEMMs in ONNX Runtime, and
the direct call is repeated with other ONNX Runtime session settings (`direct.session_options`).

Each server's stderr (its log and the per-prediction signals) goes to a file, not a pipe: a pipe
nobody reads fills after a few hundred predictions and blocks the server.

Usage: python bench/serve_bench.py [--model-dir models/model] [--out build/bench/serve.json]
(`make bench-serve`). `--small` runs every measurement once on a few texts (seconds; the tests run
it on a tiny model so a change that breaks the benchmark fails CI); its figures mean nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from textclf.config import load_params
from textclf.serving.inference import GRAPH_FILES, file_digest, served_quantize

BENCH = Path(__file__).resolve().parent
SHORT_TEXT = "Where is my parcel? It should have arrived yesterday."
BATCH = 32
BLOCK = 20
SWITCH_PAUSE_S = 0.3  # lets the previous server's idle worker threads stop spinning
# What the serving image installed before (pyproject's runtime dependencies), and the least a
# PyTorch server needs; against the serving image's set now.
TORCH_IMAGE_SET = "pyproject"
TORCH_MINIMAL_SET = ["torch", "transformers", "tokenizers", "numpy", "PyYAML", "pydantic"]
GOALS = {
    "cold_start_speedup": (">=", 5.0),
    "p50_speedup": (">=", 2.5),
    "batch32_speedup": (">=", 1.8),
    "install_size_ratio": (">=", 4.0),
    "peak_rss_mb": ("<", 300.0),
    "server_overhead_p50": ("<=", 1.2),
}
STOP_TIMEOUT_S = 30
# What this script writes to --out: bench_main.check_out replaces only a JSON object of these keys.
OUT_KEYS = (
    *GOALS,
    "accuracy_served",
    "accuracy_evaluate",
    "served_variant",
    "small",
    "goals",
    "accuracies_equal",
    "evaluate_judged_the_served_graph",
    "install_size_mb",
    "install_size_ratio_minimal_torch",
    "int8",
    "server_overhead",
    "direct",
    "threads",
    "padding",
    "gemm_bound",
    "variants",
    "machine",
    "model_dir",
    "max_length",
    "short_text",
    "requests",
    "test_texts",
)
DEFAULT_OUT = "build/bench/serve.json"
# The served graph called directly with other ONNX Runtime session settings than the server's (one
# intra-op thread per core, idle threads not spinning, every graph optimisation): are they the best?
SESSION_OPTIONS = {
    "spinning": {"spinning": "1"},
    "one_thread": {"threads": 1},
    "basic_optimisation": {"optimisation": "ORT_ENABLE_BASIC"},
}


def pin_to_two_cpus() -> list[int]:
    cpus = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cpus)
    return cpus


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def read_test_split(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows], [row["label"] for row in rows]


# ---------------------------------------------------------------------------------------------
# A server process


class Server:
    def __init__(self, command: list[str], log: Path) -> None:
        self.started = time.perf_counter()
        self.log = log
        # MODEL_VERSION as the redeploy Lambda sets it (and so no digest of the weights at start).
        env = {**os.environ, "MODEL_VERSION": "bench"}
        with log.open("w", encoding="utf-8") as stderr:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env
            )
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=STOP_TIMEOUT_S)
            raise RuntimeError(f"the server did not start: {self.log_tail()}")
        host, port = json.loads(line)["listening"].removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-3000:]

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def wait_ready(self) -> float:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log_tail()}")
            try:
                if self.call("GET", "/ping")[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                self.connection.close()
            time.sleep(0.01)

    def classify(self, texts: list[str]) -> list[str]:
        status, body = self.call("POST", "/invocations", json.dumps({"inputs": texts}).encode())
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")
        return [p["label"] for p in json.loads(body)["predictions"]]

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return round(int(line.split()[1]) / 1024, 1)

    def stop(self) -> int:
        """SIGTERM and the exit status; a server that does not stop in time is killed (status None
        would hide that, so it is an error)."""
        self.connection.close()
        self.process.terminate()
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(
                f"the server did not stop within {STOP_TIMEOUT_S} s of SIGTERM: {self.log_tail()}"
            ) from None
        self.process.stdout.close()
        return status


class Direct:
    """The served graph called in this process, without HTTP: the baseline of the server's overhead.
    With `options`, the same graph and tokenizer in a session built with other ONNX Runtime settings
    (SESSION_OPTIONS): which of them would make the graph faster on this machine."""

    def __init__(self, model_dir: Path, max_length: int, quantize: str, options: dict | None = None) -> None:
        from textclf.serving.inference import Predictor

        self.predictor = Predictor(model_dir, max_length, quantize)
        if options is not None:
            import onnxruntime

            settings = onnxruntime.SessionOptions()
            settings.intra_op_num_threads = options.get("threads", 0)
            settings.add_session_config_entry("session.intra_op.allow_spinning", options.get("spinning", "0"))
            level = options.get("optimisation", "ORT_ENABLE_ALL")
            settings.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, level)
            settings.log_severity_level = 3
            # The predictor's tokenizer, feature names and post-processing; only the session differs.
            self.predictor.session = onnxruntime.InferenceSession(
                str(self.predictor.graph), settings, providers=["CPUExecutionProvider"]
            )

    def classify(self, texts: list[str]) -> list[str]:
        return [label for label, _ in self.predictor.predict(texts)]


class GemmBound:
    """The compute floor of a batch: only the graph's dense matmuls, as plain fp32 GEMMs in ONNX
    Runtime (same threads, same session settings as the server), for the batch's padded tokens.
    Per token, a BERT layer's dense matmuls are 4 H x H (query, key, value, output) and 2 H x F
    (feed-forward), that is (4 H / F + 2) GEMMs of shape (tokens x H) @ (H x F). A graph cannot run
    faster than this on this CPU (attention scores, softmax, layer norms and the tokenizer come on
    top); `texts/s` here is the throughput a graph doing nothing else would reach."""

    def __init__(self, model_dir: Path, predictor) -> None:
        import numpy as np
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        hidden, inner = config["hidden_size"], config["intermediate_size"]
        self.calls = round(config["num_hidden_layers"] * (4 * hidden / inner + 2))
        weight = numpy_helper.from_array(np.random.default_rng(0).random((hidden, inner), np.float32), "w")
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["x", "w"], ["y"])],
            "gemm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, hidden])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, inner])],
            [weight],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        settings = onnxruntime.SessionOptions()
        settings.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the server
        self.session = onnxruntime.InferenceSession(
            model.SerializeToString(), settings, providers=["CPUExecutionProvider"]
        )
        self.predictor, self.hidden, self.np = predictor, hidden, np

    def classify(self, texts: list[str]) -> list[str]:
        encodings = self.predictor.encode(texts)  # the tokenizer's padding: the batch's longest text
        x = self.np.ones((len(texts) * len(encodings[0].ids), self.hidden), self.np.float32)
        for _ in range(self.calls):
            self.session.run(["y"], {"x": x})
        return []


def server_commands(models: dict[str, Path], params: Path, folder: Path) -> dict[str, list[str]]:
    """Each server's command: `models` holds a model folder per graph (`none`, `int8`)."""

    def serve(model_dir: Path) -> list[str]:
        return [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(model_dir), "--port", "0"]

    reference = [sys.executable, str(BENCH / "torch_reference.py"), "--model-dir", str(models["none"])]
    return {
        "torch": [*reference, "--params", str(params)],
        "onnx": [*serve(models["none"]), "--params", str(params_with_quantize(params, "none", folder))],
        "onnx_int8": [*serve(models["int8"]), "--params", str(params_with_quantize(params, "int8", folder))],
    }


def params_with_quantize(params: Path, quantize: str, folder: Path) -> Path:
    raw = yaml.safe_load(params.read_text(encoding="utf-8")) or {}
    raw.setdefault("deploy", {}).setdefault("serve", {})["quantize"] = quantize
    out = folder / f"params-{quantize}.yaml"
    out.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return out


def graph_folders(model_dir: Path, folder: Path) -> dict[str, Path]:
    """A folder per graph (`none`, `int8`): links to `model_dir`'s files with a serving.json that
    serves that graph (the model folder's own serving.json decides what a server loads). The int8
    graph is exported when `model_dir` lacks it."""
    from textclf.serving.inference import SERVING_FILE

    int8 = model_dir / GRAPH_FILES["int8"]
    folders = {}
    for quantize, graph in GRAPH_FILES.items():
        copy = folder / f"model-{quantize}"
        copy.mkdir()
        for path in model_dir.iterdir():
            if path.name != SERVING_FILE:
                (copy / path.name).symlink_to(path.resolve())
        if quantize == "int8" and not int8.is_file():
            from textclf.pipeline.export import export_int8

            export_int8(model_dir / GRAPH_FILES["none"], copy / graph)
        served = {"quantize": quantize, "graph": graph, "rule": quantize, "reason": "the benchmark"}
        (copy / SERVING_FILE).write_text(json.dumps(served), encoding="utf-8")
        folders[quantize] = copy
    return folders


# ---------------------------------------------------------------------------------------------
# Measurements


def cold_starts(
    commands: dict[str, list[str]], runs: int, folder: Path
) -> tuple[dict[str, list[float]], dict]:
    """Start each server `runs` times, taking turns; the last ones stay up for the measurements."""
    starts: dict[str, list[float]] = {name: [] for name in commands}
    servers: dict[str, Server] = {}
    try:
        for run_ in range(runs):
            for name, command in commands.items():
                time.sleep(SWITCH_PAUSE_S)
                server = Server(command, folder / f"{name}.log")
                servers[name] = server
                starts[name].append(server.wait_ready())
                if run_ < runs - 1:
                    server.stop()
    except BaseException:
        for server in servers.values():
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait()
        raise
    return starts, servers


def interleaved_latency(servers: dict[str, Server | Direct], count: int) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {name: [] for name in servers}
    for _ in range(max(count // BLOCK, 1)):
        for name, server in servers.items():
            time.sleep(SWITCH_PAUSE_S)
            server.classify([SHORT_TEXT])  # the first call after a switch is a warm-up
            for _ in range(BLOCK):
                started = time.perf_counter()
                server.classify([SHORT_TEXT])
                timings[name].append(time.perf_counter() - started)
    return {
        name: {
            "p50_ms": round(percentile(values, 50) * 1000, 2),
            "p95_ms": round(percentile(values, 95) * 1000, 2),
        }
        for name, values in timings.items()
    }


def interleaved_throughput(
    servers: dict[str, Server | Direct], batches: list[list[str]], rounds: int
) -> dict:
    spent = dict.fromkeys(servers, 0.0)
    for _ in range(rounds):
        for name, server in servers.items():
            time.sleep(SWITCH_PAUSE_S)
            server.classify(batches[0])  # warm-up
            started = time.perf_counter()
            for batch in batches:
                server.classify(batch)
            spent[name] += time.perf_counter() - started
    total = rounds * sum(len(batch) for batch in batches)
    return {name: round(total / seconds, 1) for name, seconds in spent.items()}


def served_accuracy(server: Server | Direct, texts: list[str], labels: list[str]) -> tuple[float, list[str]]:
    predicted = []
    for start in range(0, len(texts), BATCH):
        predicted += server.classify(texts[start : start + BATCH])
    return sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels), predicted


def logged(log: Path, field: str) -> Any:
    """A field of the first JSON line of a server's log that has it (None when none has)."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and field in record:
            return record[field]
    return None


def inside_p50_ms(log: Path) -> dict[str, float] | None:
    """The one-text requests as the server timed them itself, from its signals (None with signals
    off): `latency` from the body's first byte read to the answer flushed, `graph` the model's part
    of it (tokenizer, graph, softmax), `handling` the rest (parsing, checks, JSON, writing), each
    the p50. Against the client's p50, the rest is the HTTP transport (request line and headers,
    both sides' parsing, the loopback round trip)."""
    timed = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("texts") == 1 and "graph_ms" in record:
            timed.append((record["latency_ms"], record["graph_ms"]))
    if not timed:
        return None
    return {
        "latency": round(percentile([total for total, _ in timed], 50), 2),
        "graph": round(percentile([graph for _, graph in timed], 50), 2),
        "handling": round(percentile([total - graph for total, graph in timed], 50), 2),
    }


def padding(predictor, batches: list[list[str]]) -> dict[str, Any]:
    """The tokens the graph computes on (each batch padded to its longest text) and how many of
    them are the texts' own: the rest is padding both servers compute alike."""
    encodings = [predictor.encode(batch) for batch in batches]
    padded = sum(len(batch) * len(batch[0].ids) for batch in encodings)
    real = sum(sum(e.attention_mask) for batch in encodings for e in batch)
    return {
        "policy": "each batch padded to its longest text (torch and ONNX Runtime alike)",
        "tokens_per_text": round(real / sum(map(len, batches)), 1),
        "padded_tokens_per_batch": round(padded / len(batches), 1),
        "real_share": round(real / padded, 2),
    }


def pyproject_dependencies(repo: Path) -> list[str]:
    import tomllib

    return tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]


PIP_INSTALL = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
# No .pyc files: the same for both sets, and the serving image sets PYTHONDONTWRITEBYTECODE.
PIP_INSTALL.append("--no-compile")


def installed_size_mb(requirements: list[str], constraints: Path, folder: Path) -> float:
    """Install `requirements` (with their dependencies, at the versions `constraints` pins) into an
    empty folder and measure it: what an image layer with them would hold."""
    target = folder / "target"
    shutil.rmtree(target, ignore_errors=True)
    done = subprocess.run(
        [*PIP_INSTALL, "--target", str(target), "--constraint", str(constraints), *requirements],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:  # pip's own warnings (index locations) are noise when it succeeds
        raise SystemExit(f"pip could not install {requirements}:\n{done.stderr[-3000:]}")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file() and not p.is_symlink())
    shutil.rmtree(target)
    return round(size / 2**20, 1)


def pins_without_hashes(lock: Path, out: Path) -> Path:
    """The lock's `name==version` pins as a constraints file without hashes: pip turns hash-checking
    on for a constraints file with hashes and then refuses the requirements named on the command
    line, which carry none. The versions, not the hashes, decide what an image layer holds."""
    pins = [
        line.split()[0]
        for line in lock.read_text(encoding="utf-8").splitlines()
        if "==" in line.split(" ")[0]
    ]
    out.write_text("\n".join(pins) + "\n", encoding="utf-8")
    return out


def install_sizes(repo: Path, folder: Path) -> dict[str, float]:
    """Installed size of the PyTorch serving image's set, the least a PyTorch server needs, and
    the ONNX Runtime serving set, in MB."""
    lock = pins_without_hashes(repo / "requirements.lock", folder / "constraints.txt")
    torch_image = [d for d in pyproject_dependencies(repo) if not d.startswith(("onnx==", "onnxruntime=="))]
    serve_lock = [  # name==version of each pin (the lock's lines carry hashes and continuations)
        line.split()[0]
        for line in (repo / "requirements-serve.lock").read_text().splitlines()
        if "==" in line
    ]
    return {
        "torch_image": installed_size_mb(torch_image, lock, folder),
        "torch_minimal": installed_size_mb(TORCH_MINIMAL_SET, lock, folder),
        "onnx_serving": installed_size_mb(serve_lock, lock, folder),
    }


def verdicts(keys: dict[str, float | None]) -> dict[str, dict[str, Any]]:
    """Each goal's value and whether it is met; a figure not measured in this run (None) is left out."""
    out = {}
    for name, (direction, goal) in GOALS.items():
        value = keys[name]
        if value is None:
            continue
        met = {">=": value >= goal, "<=": value <= goal, "<": value < goal}[direction]
        out[name] = {"value": value, "goal": f"{direction} {goal}", "met": met}
    return out


def agreement(a: list[str], b: list[str]) -> float:
    return round(sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 4)


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.small:  # every measurement once, on a few texts: checks the benchmark runs, times nothing
        args.cold_starts, args.requests, args.rounds, args.skip_install_size = 1, BLOCK, 1, True
        global SWITCH_PAUSE_S
        SWITCH_PAUSE_S = 0.0
    cpus = pin_to_two_cpus()
    load_start = os.getloadavg()
    repo = Path(args.repo)
    model_dir, test_file, params_file = Path(args.model_dir), Path(args.test), Path(args.params)
    eval_file = Path(args.eval_metrics)
    for path in (model_dir / GRAPH_FILES["none"], test_file, params_file):
        if not path.exists():
            raise SystemExit(f"{path} not found: run `make repro` first (model, graph, test split, metrics)")
    params = load_params(params_file, needs=("model", "deploy", "deploy.serve"))
    # The graph the model folder serves (its serving.json), as `textclf serve` would load it.
    quantize = served_quantize(model_dir, params.deploy.serve.quantize)
    served = "onnx_int8" if quantize == "int8" else "onnx"
    texts, labels = read_test_split(test_file)
    if args.small:
        texts, labels = texts[: 2 * BATCH], labels[: 2 * BATCH]
    usable = len(texts) // BATCH * BATCH or len(texts)
    batches = [texts[i : i + BATCH] for i in range(0, usable, BATCH)]
    # The metrics evaluate wrote for this model: the accuracy the served graph must reproduce.
    evaluated = json.loads(eval_file.read_text(encoding="utf-8")) if eval_file.is_file() else {}

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        # First: a pip failure should end the run before minutes of measurements, not after them.
        sizes = install_sizes(repo, folder) if not args.skip_install_size else None
        models = graph_folders(model_dir, folder)
        commands = server_commands(models, params_file, folder)
        starts, servers = cold_starts(commands, args.cold_starts, folder)
        try:
            # The direct call takes its turns with the servers: its ratio compares runs under one load.
            direct = Direct(models[quantize], params.model.max_length, quantize)
            contenders = {**servers, "direct": direct}
            options = {
                f"direct_{name}": Direct(models[quantize], params.model.max_length, quantize, settings)
                for name, settings in SESSION_OPTIONS.items()
            }
            gemm = {"gemm_bound": GemmBound(model_dir, direct.predictor)}
            latency = interleaved_latency({**contenders, **options}, args.requests)
            texts_per_s = interleaved_throughput({**contenders, **options, **gemm}, batches, args.rounds)
            peak = {name: s.peak_rss_mb() for name, s in servers.items()}
            accuracy = {name: served_accuracy(s, texts, labels) for name, s in contenders.items()}
        finally:
            exits = {}
            for name, server in servers.items():
                exits[name] = server.stop()
        threads = {"torch": logged(servers["torch"].log, "torch_threads")}
        inside = inside_p50_ms(servers[served].log)
        padded = padding(direct.predictor, batches)
        graph_sha = {
            name: file_digest(models[q] / GRAPH_FILES[q])
            for name, q in (("onnx", "none"), ("onnx_int8", "int8"))
        }
    load_end = os.getloadavg()

    cold = {name: round(statistics.median(values), 3) for name, values in starts.items()}
    reference_labels = accuracy["torch"][1]
    variants = {
        name: {
            "cold_start_s": {"median": cold[name], "runs": [round(s, 3) for s in starts[name]]},
            "latency_one_short_text": latency[name],
            "batch32_texts_per_s": texts_per_s[name],
            "peak_rss_mb": peak[name],
            "test_accuracy": round(accuracy[name][0], 4),
            "agreement_with_torch": agreement(accuracy[name][1], reference_labels),
            "exit_status_on_sigterm": exits[name],
            **({"graph_sha256": graph_sha[name]} if name in graph_sha else {}),
        }
        for name in servers
    }
    keys = {
        "cold_start_speedup": round(cold["torch"] / cold[served], 2),
        "p50_speedup": round(latency["torch"]["p50_ms"] / latency[served]["p50_ms"], 2),
        "batch32_speedup": round(texts_per_s[served] / texts_per_s["torch"], 2),
        "install_size_ratio": round(sizes["torch_image"] / sizes["onnx_serving"], 2) if sizes else None,
        "peak_rss_mb": peak[served],
        "server_overhead_p50": round(latency[served]["p50_ms"] / latency["direct"]["p50_ms"], 2),
        "accuracy_served": round(accuracy[served][0], 4),
        "accuracy_evaluate": evaluated.get("accuracy"),
    }
    judged = evaluated.get("graph", {})
    return {
        **keys,
        "served_variant": served,
        "small": args.small,
        "goals": verdicts(keys),
        "accuracies_equal": keys["accuracy_served"] == keys["accuracy_evaluate"],
        "evaluate_judged_the_served_graph": judged.get("sha256") == graph_sha[served],
        "install_size_mb": sizes,
        "install_size_ratio_minimal_torch": round(sizes["torch_minimal"] / sizes["onnx_serving"], 2)
        if sizes
        else None,
        "int8": {
            "p50_speedup_over_fp32": round(latency["onnx"]["p50_ms"] / latency["onnx_int8"]["p50_ms"], 2),
            "batch32_speedup_over_fp32": round(texts_per_s["onnx_int8"] / texts_per_s["onnx"], 2),
            "accuracy_change_points": round((accuracy["onnx_int8"][0] - accuracy["onnx"][0]) * 100, 2),
            "agreement_with_fp32": agreement(accuracy["onnx_int8"][1], accuracy["onnx"][1]),
        },
        "server_overhead": {
            "direct_p50_ms": latency["direct"]["p50_ms"],
            "inside_server_p50_ms": inside,
            "client_p50_ms": latency[served]["p50_ms"],
            "what": "inside_server: the served server's own timing of the one-text requests (its "
            "signals: latency body read to answer flushed, graph the model's part of it, handling "
            "the rest); client: the same requests as the benchmark timed them over HTTP on "
            "127.0.0.1; direct: the graph called in this process",
        },
        "direct": {
            "what": f"Predictor.predict on {GRAPH_FILES[quantize]} in the benchmark's process, no HTTP",
            "latency_one_short_text": latency["direct"],
            "batch32_texts_per_s": texts_per_s["direct"],
            "agreement_with_served": agreement(accuracy["direct"][1], accuracy[served][1]),
            # The same graph with other session settings, against the server's settings in this run.
            "session_options": {
                name: {
                    "settings": settings,
                    "latency_one_short_text": latency[f"direct_{name}"],
                    "p50_vs_served_settings": round(
                        latency[f"direct_{name}"]["p50_ms"] / latency["direct"]["p50_ms"], 2
                    ),
                    "batch32_texts_per_s": texts_per_s[f"direct_{name}"],
                    "batch32_vs_served_settings": round(
                        texts_per_s[f"direct_{name}"] / texts_per_s["direct"], 2
                    ),
                }
                for name, settings in SESSION_OPTIONS.items()
            },
        },
        # Like with like: both servers compute on the same cores with the same number of threads,
        # pad each batch to its longest text, tokenize once per request, on the same texts.
        "threads": {**threads, "onnxruntime_intra_op": "0: one per core", "cpus": len(cpus)},
        "padding": padded,
        "gemm_bound": {
            "what": "the dense matmuls of each batch alone, as fp32 GEMMs in ONNX Runtime (GemmBound)",
            "batch32_texts_per_s": texts_per_s["gemm_bound"],
            # How close each server's batch figure comes to the floor the dense matmuls set.
            "share_reached": {
                name: round(texts_per_s[name] / texts_per_s["gemm_bound"], 2) for name in (*servers, "direct")
            },
        },
        "variants": variants,
        "machine": {
            "cpus": cpus,
            # Other work on the machine skews absolute figures; the ratios compare turns under one load.
            "load_average_start": [round(x, 2) for x in load_start],
            "load_average_end": [round(x, 2) for x in load_end],
        },
        "model_dir": str(model_dir),
        "max_length": params.model.max_length,
        "short_text": SHORT_TEXT,
        "requests": args.requests,
        "test_texts": len(texts),
    }


def report(result: dict[str, Any]) -> str:
    v = result["variants"]
    rows = [
        ("cold start, process to /ping 200 (median)", lambda x: f"{x['cold_start_s']['median']} s"),
        (
            "one short text p50 / p95",
            lambda x: f"{x['latency_one_short_text']['p50_ms']} / {x['latency_one_short_text']['p95_ms']} ms",
        ),
        ("batches of 32 (texts/s)", lambda x: x["batch32_texts_per_s"]),
        ("peak RSS", lambda x: f"{x['peak_rss_mb']} MB"),
        ("test accuracy (through the server)", lambda x: x["test_accuracy"]),
    ]
    names = list(v)
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {label} | " + " | ".join(str(cell(v[n])) for n in names) + " |" for label, cell in rows]
    lines.append("")
    lines.append(
        f"direct call (no HTTP) p50 {result['direct']['latency_one_short_text']['p50_ms']} ms, "
        f"batches of 32 {result['direct']['batch32_texts_per_s']} texts/s"
    )
    inside = result["server_overhead"]["inside_server_p50_ms"]
    if inside:
        lines.append(
            f"one short text p50: direct {result['server_overhead']['direct_p50_ms']} ms; in the server "
            f"{inside['latency']} ms (model {inside['graph']}, handling {inside['handling']}); "
            f"client {result['server_overhead']['client_p50_ms']} ms"
        )
    threads = result["threads"]
    lines.append(
        f"same threads: torch {threads['torch']}, ONNX Runtime {threads['onnxruntime_intra_op']} on "
        f"{threads['cpus']} CPUs; padding: {result['padding']['policy']}, "
        f"{result['padding']['real_share']:.0%} of the padded tokens are the texts' own"
    )
    gemm = result["gemm_bound"]
    lines.append(
        f"the batch's dense matmuls alone (GEMM bound): {gemm['batch32_texts_per_s']} texts/s; "
        "share reached: " + ", ".join(f"{name} {share}" for name, share in gemm["share_reached"].items())
    )
    for name, option in result["direct"]["session_options"].items():
        lines.append(
            f"direct call, {name} {option['settings']}: p50 x{option['p50_vs_served_settings']}, "
            f"batch-32 x{option['batch32_vs_served_settings']} of the server's settings"
        )
    for key in (*GOALS, "accuracy_served", "accuracy_evaluate"):
        goal = result["goals"].get(key)
        lines.append(
            f"{key}: {result[key]}"
            + (f" (goal {goal['goal']}: {'met' if goal['met'] else 'NOT met'})" if goal else "")
        )
    return "\n".join(lines)


def main() -> None:
    from bench_main import check_out  # bench/ is on sys.path when this file runs as a script

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="models/model")
    parser.add_argument("--test", default="data/prepared/test.jsonl")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--eval-metrics", default="metrics/eval.json")
    parser.add_argument("--repo", default=".", help="where pyproject.toml and the locks are")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per latency figure")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the test split per throughput")
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--skip-install-size", action="store_true", help="no pip installs (quick runs)")
    parser.add_argument("--small", action="store_true", help="each measurement once on a few texts (a test)")
    args = parser.parse_args()
    out = check_out(args.out, OUT_KEYS, default=DEFAULT_OUT)
    result = run(args)
    out.write(result)
    print(report(result))
    print(f"\n(full figures: {args.out})")


if __name__ == "__main__":
    from bench_main import run as run_to_the_end  # a script may define run() itself

    run_to_the_end(main, __file__)
