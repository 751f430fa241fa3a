"""Every benchmark's `--out FILE` replaces only a file that script wrote (issue 27: `python
bench/cost_compare.py --out README.md` wrote over a tracked file without a word, and so did every
other bench script with `--out`): anything else (the user's README.md, another benchmark's figures,
a folder, a symbolic link, a pipe) is refused, exit 2, one line naming the file, before the
benchmark starts its work (a full run takes minutes), nothing printed, written or created.

The refusals run each script for real (a fraction of a second: no benchmark work starts); the
recognition of each script's own file is checked in this process on its committed figures."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

BENCH = REPO_ROOT / "bench"
# Every bench script that takes --out, found in bench/ so that a new one cannot be left out.
SCRIPTS = sorted(path.stem for path in BENCH.glob("*.py") if '"--out"' in path.read_text(encoding="utf-8"))
# The committed figures each script wrote (bench/results/); cost_compare writes only to build/.
COMMITTED = {
    "label_errors": "label_errors.json",
    "pipeline_time": "pipeline_time.json",
    "scale": "scale.json",
    "serve_bench": "serve.json",
    "threads": "threads.json",
    "train_throughput": "train_throughput.json",
}


def load(name: str) -> ModuleType:
    if name in sys.modules and getattr(sys.modules[name], "__file__", "") == str(BENCH / f"{name}.py"):
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and the like look their module up by name
    spec.loader.exec_module(module)
    return module


def run(script: str, folder: Path, out: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), "--small", *args, "--out", out],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,  # a refusal takes a fraction of a second; the old code started the benchmark
    )


def tree(folder: Path) -> dict[str, bytes | str]:
    """Every entry under `folder`: a file's bytes, what a link points to, a folder or a pipe."""
    entries: dict[str, bytes | str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            entries[name] = f"link to {os.readlink(path)}"
        elif path.is_dir():
            entries[name] = "folder"
        elif path.is_file():
            entries[name] = path.read_bytes()
        else:
            entries[name] = "other"
    return entries


def test_every_bench_script_with_out_is_covered() -> None:
    assert SCRIPTS == [
        "cost_compare",
        "label_errors",
        "pipeline_time",
        "scale",
        "serve_bench",
        "threads",
        "train_throughput",
    ]
    assert set(COMMITTED) <= set(SCRIPTS)


# Run through each script: the kinds of refusal; the other names are checked on the shared helper.
TARGETS = [
    ("README.md", "exists and is not a file this script wrote"),
    ("sub", "is a folder"),
    ("pipe.json", "exists and is not a file this script wrote"),
]


@pytest.mark.parametrize("script", SCRIPTS)
@pytest.mark.parametrize(("out", "message"), TARGETS, ids=[out for out, _ in TARGETS])
def test_a_file_the_script_did_not_write_is_refused_before_any_work(
    tmp_path: Path, script: str, out: str, message: str
) -> None:
    (tmp_path / "README.md").write_text("# my project\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "pipe.json")  # opened for reading, it would block the script for ever
    before = tree(tmp_path)

    done = run(script, tmp_path, out)

    assert done.returncode == 2 and done.stdout == "", done.stderr[-2000:]
    assert done.stderr.startswith(f"[{script}.py] error: --out {out}: {message}"), done.stderr[-2000:]
    assert done.stderr.rstrip().endswith("nothing was written") and done.stderr.count("\n") == 1
    assert tree(tmp_path) == before  # nothing written, replaced or created (no build/ folder)


def test_another_benchmarks_figures_are_refused(tmp_path: Path) -> None:
    (tmp_path / "threads.json").write_bytes((BENCH / "results/threads.json").read_bytes())
    before = tree(tmp_path)

    done = run("label_errors", tmp_path, "threads.json")

    assert done.returncode == 2 and "is not a file this script wrote" in done.stderr
    assert tree(tmp_path) == before


@pytest.fixture(scope="module")
def bench_main() -> ModuleType:
    return load("bench_main")


@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_recognises_its_own_figures_and_no_others(bench_main, tmp_path: Path, script) -> None:
    module = load(script)
    keys = frozenset(module.OUT_KEYS)
    added_later = frozenset(getattr(module, "ADDED_LATER", ()))
    own = tmp_path / "own.json"
    own.write_text(json.dumps(dict.fromkeys(keys)), encoding="utf-8")
    assert bench_main.out_problem(own, keys, "d.json", added_later) is None
    if script in COMMITTED:  # its default --out: the committed figures a full run replaces
        assert (
            bench_main.out_problem(BENCH / "results" / COMMITTED[script], keys, "d.json", added_later) is None
        )
    for other, name in COMMITTED.items():
        if other != script:
            problem = bench_main.out_problem(BENCH / "results" / name, keys, "d.json", added_later)
            assert problem and problem.startswith("exists and is not a file this script wrote"), other
    own.write_text(json.dumps({**dict.fromkeys(keys), "extra": 1}), encoding="utf-8")
    assert bench_main.out_problem(own, keys, "d.json", added_later), "a key it does not write"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("README.md", "exists and is not a file this script wrote"),
        ("other.json", "exists and is not a file this script wrote"),
        (".", "is a folder"),
        ("link.json", "is a symbolic link"),
        ("dangling.json", "is a symbolic link"),
        ("README.md/figures.json", "README.md on its path is not a folder"),
        ("x" * 300 + ".json", "cannot be used (File name too long)"),
        ("nul\0.json", "holds a NUL byte"),
        (os.devnull, "exists and is not a file this script wrote"),
    ],
)
def test_names_that_cannot_be_written_are_refused_without_a_traceback(bench_main, tmp_path, name, message):
    (tmp_path / "README.md").write_text("# my project\n", encoding="utf-8")
    (tmp_path / "other.json").write_text(json.dumps({"accuracy": 0.97}), encoding="utf-8")
    (tmp_path / "own.json").write_text(json.dumps({"rows": []}), encoding="utf-8")
    (tmp_path / "link.json").symlink_to("own.json")  # even to a file of the script's own shape
    (tmp_path / "dangling.json").symlink_to("absent.json")

    assert bench_main.out_problem(tmp_path / "own.json", frozenset({"rows"}), "d.json") is None

    problem = bench_main.out_problem(tmp_path / name, frozenset({"rows"}), "d.json")

    assert problem and problem.startswith(message), problem


def test_the_figures_are_written_whole_and_checked_again_just_before(bench_main, tmp_path: Path) -> None:
    out = bench_main.check_out(tmp_path / "new/figures.json", ["rows"], default="d.json")
    with pytest.raises(RuntimeError, match=r"keys not in the script's OUT_KEYS: \['extra'\]"):
        out.write({"rows": [], "extra": 1})
    assert not (tmp_path / "new").exists()

    out.write({"rows": [1]})
    out.write({"rows": [2]})  # its own file: replaced
    assert json.loads((tmp_path / "new/figures.json").read_text(encoding="utf-8")) == {"rows": [2]}
    assert [path.name for path in (tmp_path / "new").iterdir()] == ["figures.json"]  # no temporary file

    later = bench_main.check_out(tmp_path / "notes.json", ["rows"], default="d.json")
    (tmp_path / "notes.json").write_text("my notes\n", encoding="utf-8")  # appeared during the run
    with pytest.raises(bench_main.OutRefused, match="is not a file this script wrote"):
        later.write({"rows": []})
    assert (tmp_path / "notes.json").read_text(encoding="utf-8") == "my notes\n"


def test_cost_compare_replaces_its_own_file(tmp_path: Path) -> None:
    """The one benchmark whose full run takes milliseconds: run twice to the same --out."""
    (tmp_path / "params.yaml").write_bytes((REPO_ROOT / "params.yaml").read_bytes())
    assert run("cost_compare", tmp_path, "out/cost.json").returncode == 0
    first = json.loads((tmp_path / "out/cost.json").read_text(encoding="utf-8"))

    again = run("cost_compare", tmp_path, "out/cost.json")

    assert again.returncode == 0, again.stderr
    assert "| rate |" in again.stdout
    assert json.loads((tmp_path / "out/cost.json").read_text(encoding="utf-8")) == first
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["cost.json"]  # no temporary file left
