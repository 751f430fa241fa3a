"""Benchmark the inference server against calling the model directly, on 2 CPU cores.

Measures, for the trained model (default `models/model`) and the test split
(`data/prepared/test.jsonl`):

- cold start: `textclf serve` process start to the first `GET /ping` 200 (median of N runs);
- latency p50/p95 of one short text, and throughput (texts/s) for batches of 32, through the
  server (HTTP on 127.0.0.1, one kept-alive connection) and calling `Classifier.predict` in this
  process: the server's overhead as a ratio;
- int8 dynamic quantization: speed-up ratios, and the accuracy change on the test split;
- the server's peak memory (VmHWM), and the smallest SageMaker Serverless memory size it fits.

Usage: python bench/serve_bench.py [--model-dir models/model] [--out build/bench/serve.json]
(`make bench-serve`). The process pins itself and its children to 2 CPUs when it can.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from textclf.config import load_params
from textclf.serving.server import Classifier

SHORT_TEXT = "Where is my parcel? It should have arrived yesterday."
BATCH = 32
SERVERLESS_MB = (1024, 2048, 3072, 4096, 5120, 6144)
HEADROOM = 0.8  # use at most 80 % of the Serverless memory: the container runtime needs some too


def pin_to_two_cpus() -> list[int]:
    cpus = sorted(os.sched_getaffinity(0))[:2]
    os.sched_setaffinity(0, cpus)
    return cpus


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p95_ms": round(percentile(seconds, 95) * 1000, 2),
    }


def read_test_split(path: Path) -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows], [row["label"] for row in rows]


# ---------------------------------------------------------------------------------------------
# The server process


class Server:
    def __init__(self, model_dir: Path, params: Path) -> None:
        command = [sys.executable, "-m", "textclf.cli", "serve", "--model-dir", str(model_dir)]
        command += ["--port", "0", "--params", str(params)]
        self.started = time.perf_counter()
        # MODEL_VERSION as the redeploy Lambda sets it (and so no digest of the weights at start).
        env = {**os.environ, "MODEL_VERSION": "bench"}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the server did not start: {self.process.stderr.read()}")
        url = json.loads(line)["listening"]
        host, port = url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def wait_ready(self) -> float:
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.process.stderr.read()}")
            try:
                if self.call("GET", "/ping")[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                self.connection.close()
            time.sleep(0.02)

    def classify(self, texts: list[str]) -> None:
        status, body = self.call("POST", "/invocations", json.dumps({"inputs": texts}).encode())
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:200]!r}")

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return round(int(line.split()[1]) / 1024, 1)

    def stop(self) -> None:
        self.connection.close()
        self.process.terminate()
        self.process.wait(timeout=60)


# ---------------------------------------------------------------------------------------------
# Measurements. The four variants (direct and server, fp32 and int8) take turns in blocks of calls,
# so each sees the same machine and a ratio stays fair when other work comes and goes. A pause at
# each switch lets the previous variant's idle OpenMP threads stop spinning before the next one runs.

BLOCK = 20
SWITCH_PAUSE_S = 0.3


def interleaved_latency(calls: dict[str, Any], count: int) -> dict[str, dict[str, float]]:
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(max(count // BLOCK, 1)):
        for name, call in calls.items():
            time.sleep(SWITCH_PAUSE_S)
            call([SHORT_TEXT])  # the first call after a switch is a warm-up
            for _ in range(BLOCK):
                started = time.perf_counter()
                call([SHORT_TEXT])
                timings[name].append(time.perf_counter() - started)
    return {name: latency_summary(values) for name, values in timings.items()}


def interleaved_throughput(
    calls: dict[str, Any], batches: list[list[str]], rounds: int = 2
) -> dict[str, float]:
    spent = dict.fromkeys(calls, 0.0)
    for _ in range(rounds):
        for name, call in calls.items():
            time.sleep(SWITCH_PAUSE_S)
            call(batches[0])  # warm-up
            started = time.perf_counter()
            for batch in batches:
                call(batch)
            spent[name] += time.perf_counter() - started
    total = rounds * sum(len(batch) for batch in batches)
    return {name: round(total / seconds, 1) for name, seconds in spent.items()}


def in_worker_thread(function, *args):
    """Run `function` in a thread other than the main one, as the server runs the model (in its
    request thread). On a busy machine torch was 5-20x slower called from the main thread."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = function(*args)
        except BaseException as error:
            result["error"] = error

    worker = threading.Thread(target=target)
    worker.start()
    worker.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def accuracy(classifier: Classifier, texts: list[str], labels: list[str]) -> tuple[float, list[str]]:
    predicted = []
    for start in range(0, len(texts), BATCH):
        predicted += [label for label, _ in classifier.predict(texts[start : start + BATCH])]
    correct = sum(p == t for p, t in zip(predicted, labels, strict=True))
    return correct / len(labels), predicted


def serverless_fit(peak_mb: float) -> int | None:
    return next((size for size in SERVERLESS_MB if peak_mb <= HEADROOM * size), None)


def params_with_quantize(params: Path, quantize: str, folder: Path) -> Path:
    raw = yaml.safe_load(params.read_text(encoding="utf-8")) or {}
    raw.setdefault("deploy", {}).setdefault("serve", {})["quantize"] = quantize
    out = folder / f"params-{quantize}.yaml"
    out.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return out


def cold_starts(model_dir: Path, params: dict[str, Path], runs: int) -> tuple[dict[str, list[float]], dict]:
    """Start each server `runs` times, taking turns; the last ones stay up for the measurements."""
    starts: dict[str, list[float]] = {name: [] for name in params}
    servers: dict[str, Server] = {}
    for run_ in range(runs):
        for name, path in params.items():
            server = Server(model_dir, path)
            starts[name].append(server.wait_ready())
            if run_ < runs - 1:
                server.stop()
            else:
                servers[name] = server
    return starts, servers


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    cpus = pin_to_two_cpus()
    load_start = round(os.getloadavg()[0], 2)
    model_dir, test_file, params_file = Path(args.model_dir), Path(args.test), Path(args.params)
    for path in (model_dir, test_file, params_file):
        if not path.exists():
            raise SystemExit(
                f"{path} not found: run `make repro` first (it writes models/model and the test split)"
            )
    max_length = load_params(params_file).model.max_length
    texts, labels = read_test_split(test_file)
    usable = len(texts) // BATCH * BATCH or len(texts)
    batches = [texts[i : i + BATCH] for i in range(0, usable, BATCH)]

    with tempfile.TemporaryDirectory() as folder:
        variants = {
            "fp32": params_with_quantize(params_file, "none", Path(folder)),
            "int8": params_with_quantize(params_file, "int8", Path(folder)),
        }
        starts, servers = cold_starts(model_dir, variants, args.cold_starts)
    try:
        direct = {
            "fp32": Classifier(model_dir, max_length, "none"),
            "int8": Classifier(model_dir, max_length, "int8"),
        }
        calls = {f"direct_{q}": c.predict for q, c in direct.items()}
        calls |= {f"server_{q}": s.classify for q, s in servers.items()}
        latency = in_worker_thread(interleaved_latency, calls, args.requests)
        texts_per_s = in_worker_thread(interleaved_throughput, calls, batches)
        peak = {q: s.peak_rss_mb() for q, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    accuracy_fp32, predicted_fp32 = accuracy(direct["fp32"], texts, labels)
    accuracy_int8, predicted_int8 = accuracy(direct["int8"], texts, labels)
    agree = sum(a == b for a, b in zip(predicted_fp32, predicted_int8, strict=True)) / len(texts)

    def figures(name: str) -> dict[str, Any]:
        return {"latency": latency[name], "batch32_texts_per_s": texts_per_s[name]}

    return {
        "machine": {
            "cpus": cpus,
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            # Other work on the machine skews every figure: a load above the CPU count is noted.
            "load_average_start": load_start,
            "load_average_end": round(os.getloadavg()[0], 2),
        },
        "model_dir": str(model_dir),
        "model_mb": round(sum(p.stat().st_size for p in model_dir.iterdir()) / 2**20, 1),
        "max_length": max_length,
        "short_text": SHORT_TEXT,
        "requests": args.requests,
        "test_texts": len(texts),
        "direct": {q: figures(f"direct_{q}") for q in ("fp32", "int8")},
        "server": {
            q: {
                **figures(f"server_{q}"),
                "cold_start_s": {
                    "median": round(statistics.median(starts[q]), 2),
                    "runs": [round(s, 2) for s in starts[q]],
                },
                "peak_rss_mb": peak[q],
            }
            for q in ("fp32", "int8")
        },
        "server_overhead": {
            "latency_p50_ratio": round(
                latency["server_fp32"]["p50_ms"] / latency["direct_fp32"]["p50_ms"], 2
            ),
            "throughput_ratio": round(texts_per_s["direct_fp32"] / texts_per_s["server_fp32"], 2),
        },
        "int8": {
            "latency_p50_speedup": round(
                latency["direct_fp32"]["p50_ms"] / latency["direct_int8"]["p50_ms"], 2
            ),
            "throughput_speedup": round(texts_per_s["direct_int8"] / texts_per_s["direct_fp32"], 2),
            "accuracy_fp32": round(accuracy_fp32, 4),
            "accuracy_int8": round(accuracy_int8, 4),
            "accuracy_change_points": round((accuracy_int8 - accuracy_fp32) * 100, 2),
            "agreement": round(agree, 4),
        },
        "serverless": {
            "headroom": HEADROOM,
            "fp32_fits_mb": serverless_fit(peak["fp32"]),
            "int8_fits_mb": serverless_fit(peak["int8"]),
        },
    }


def report(result: dict[str, Any]) -> str:
    d, s, o, q = result["direct"], result["server"], result["server_overhead"], result["int8"]
    rows = [
        (
            "cold start, process to /ping 200 (median)",
            f"{s['fp32']['cold_start_s']['median']} s",
            f"{s['int8']['cold_start_s']['median']} s",
        ),
        ("one short text, direct p50 / p95", _lat(d["fp32"]), _lat(d["int8"])),
        ("one short text, server p50 / p95", _lat(s["fp32"]), _lat(s["int8"])),
        (
            "batches of 32, direct (texts/s)",
            d["fp32"]["batch32_texts_per_s"],
            d["int8"]["batch32_texts_per_s"],
        ),
        (
            "batches of 32, server (texts/s)",
            s["fp32"]["batch32_texts_per_s"],
            s["int8"]["batch32_texts_per_s"],
        ),
        ("server peak RSS", f"{s['fp32']['peak_rss_mb']} MB", f"{s['int8']['peak_rss_mb']} MB"),
        (
            "smallest Serverless memory that fits",
            f"{result['serverless']['fp32_fits_mb']} MB",
            f"{result['serverless']['int8_fits_mb']} MB",
        ),
        ("test accuracy", q["accuracy_fp32"], q["accuracy_int8"]),
    ]
    lines = ["| measure | fp32 | int8 |", "| --- | --- | --- |"] + [
        f"| {a} | {b} | {c} |" for a, b, c in rows
    ]
    lines += [
        "",
        f"Server overhead (fp32): p50 latency x{o['latency_p50_ratio']}, batch-32 throughput "
        f"x{o['throughput_ratio']} slower than calling the model in-process.",
        f"int8 vs fp32 (direct): p50 latency x{q['latency_p50_speedup']} faster, batch-32 throughput "
        f"x{q['throughput_speedup']}; accuracy change {q['accuracy_change_points']:+} points on "
        f"{result['test_texts']} test texts, {q['agreement'] * 100:.1f} % identical predictions.",
    ]
    return "\n".join(lines)


def _lat(entry: dict) -> str:
    return f"{entry['latency']['p50_ms']} / {entry['latency']['p95_ms']} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="models/model")
    parser.add_argument("--test", default="data/prepared/test.jsonl")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--out", default="build/bench/serve.json")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per latency figure")
    parser.add_argument("--cold-starts", type=int, default=3)
    args = parser.parse_args()
    result = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(report(result))
    print(f"\n(full figures: {out})")


if __name__ == "__main__":
    main()
