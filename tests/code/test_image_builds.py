"""What the images install runs nothing unhashed that the lock could hash (issue 25 point 4): the
package is built without build isolation, from a build backend installed out of its hashed lock
entry; the training image installs every package the lock holds in hash-checking mode, leaving only
torch's CUDA build and its CUDA runtime (whose index the lock is not made from) to exact pins.

There is no Docker engine here: the Dockerfiles are read, and the step that splits pip's plan
(docker/hashed_requirements.py) runs on the real lock and the real dependency tree of the package.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docker"))
import hashed_requirements  # noqa: E402

LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")
TRAIN = (ROOT / "docker/train.Dockerfile").read_text(encoding="utf-8")
SERVE = (ROOT / "docker/serve.Dockerfile").read_text(encoding="utf-8")


def run_lines(dockerfile: str) -> list[str]:
    """Each command of each RUN instruction (continuations joined, split at &&)."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    commands = []
    for line in joined.splitlines():
        if line.startswith("RUN "):
            commands += [part.strip() for part in line[4:].split("&&")]
    return commands


@pytest.mark.parametrize("dockerfile", [TRAIN, SERVE], ids=["train", "serve"])
def test_the_package_is_built_without_build_isolation(dockerfile):
    """Before: `pip install --no-deps .` built the package in an isolated environment with whatever
    setuptools the index served that day."""
    package = [c for c in run_lines(dockerfile) if c.startswith("pip install") and c.endswith(" .")]
    assert package and all("--no-build-isolation" in c for c in package), package


@pytest.mark.parametrize("dockerfile", [TRAIN, SERVE], ids=["train", "serve"])
def test_every_pip_install_is_hash_checked_or_a_named_exception(dockerfile):
    """Hash-checking mode for every install, except: the package itself (built from the context),
    the dry run (installs nothing), torch's CUDA build and its CUDA runtime pins."""
    for command in run_lines(dockerfile):
        if not command.startswith("pip install"):
            continue
        allowed = (
            "--require-hashes" in command
            or command.endswith(" .")
            or "--dry-run" in command
            or (command.endswith('"torch==${torch_version}+${TORCH_CUDA}"') and "--no-deps" in command)
            or (command.endswith("--requirement cuda.txt") and "--no-deps" in command)
        )
        assert allowed, command


def test_the_build_backend_entry_is_the_locks_own():
    """docker/build-backend.lock (the serving image's setuptools) is requirements.lock's entry, and
    satisfies pyproject.toml's build-system requirement."""
    lock = hashed_requirements.read_lock(LOCK)
    copied = hashed_requirements.read_lock((ROOT / "docker/build-backend.lock").read_text(encoding="utf-8"))
    assert set(copied) == {"setuptools"}
    assert copied["setuptools"] == lock["setuptools"], "copy requirements.lock's setuptools entry"
    required = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"][
        "requires"
    ]
    (backend,) = [Requirement(item) for item in required]
    assert backend.name == "setuptools" and backend.specifier.contains(copied["setuptools"][0])


def test_the_build_context_lets_in_what_the_dockerfiles_copy():
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for dockerfile in (TRAIN, SERVE):
        for line in dockerfile.splitlines():
            if line.startswith("COPY "):
                sources = [part for part in line.split()[1:-1] if not part.startswith("--")]
                assert all(source in allowed for source in sources), (line, allowed)


# --- the split of pip's plan -------------------------------------------------------------------


def runtime_tree() -> dict[str, str]:
    """The installed runtime dependency tree of the package (pyproject's dependencies, their
    dependencies and extras, markers evaluated here: Linux, Python 3.11), as pip would report it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pending = [(Requirement(item), "") for item in pyproject["project"]["dependencies"]]
    found: dict[str, str] = {}
    seen: set[tuple[str, str]] = set()
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        name = hashed_requirements.normalised(requirement.name)
        for wanted in ("", *sorted(requirement.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            distribution = importlib.metadata.distribution(requirement.name)
            found[name] = distribution.version
            pending += [(Requirement(item), wanted) for item in distribution.requires or []]
    return found


def report(packages: dict[str, str]) -> dict:
    return {
        "install": [{"metadata": {"name": name, "version": version}} for name, version in packages.items()]
    }


def test_the_lock_holds_the_whole_runtime_tree_and_the_split_hashes_all_of_it():
    """What the training image's dry run would list (the tree without torch, installed first) is
    taken from the lock with hashes; the CUDA build's nvidia-* and triton become exact pins."""
    tree = runtime_tree()
    tree.pop("torch")
    cuda = {"nvidia-cublas-cu12": "12.8.4.1", "triton": "3.5.0"}

    hashed, pins = hashed_requirements.split(LOCK, report(tree | cuda), ["setuptools"])

    entries = hashed_requirements.read_lock(hashed)
    assert set(entries) == set(tree) | {"setuptools"}
    assert all(re.search(r"--hash=sha256:[0-9a-f]{64}", text) for _, text in entries.values())
    assert {name: version for name, (version, _) in entries.items() if name in tree} == tree
    assert pins.split() == ["nvidia-cublas-cu12==12.8.4.1", "triton==3.5.0"]


@pytest.mark.parametrize(
    ("packages", "named"),
    [
        ({"requests": "0.0.1"}, "requests 0.0.1 (the lock holds it at"),
        ({"left-pad": "1.0"}, "left-pad 1.0 (the lock holds it not at all)"),
        ({"torch": "2.13.0+cu128"}, "torch 2.13.0+cu128 (the lock holds it at 2.13.0+cpu)"),
    ],
)
def test_a_package_the_lock_does_not_hold_as_pip_chose_it_fails_the_build(tmp_path, packages, named):
    (tmp_path / "report.json").write_text(json.dumps(report(packages)))
    done = subprocess.run(
        [sys.executable, str(ROOT / "docker/hashed_requirements.py"), str(ROOT / "requirements.lock"),
         str(tmp_path / "report.json"), str(tmp_path / "hashed.lock"), str(tmp_path / "cuda.txt")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and named in done.stderr, done.stderr
    assert "make lock" in done.stderr and not (tmp_path / "hashed.lock").exists()


def test_pip_accepts_the_split_in_hash_checking_mode(tmp_path):
    """The written file is a requirements file pip's hash-checking mode takes (parsed, resolved
    against nothing: --dry-run with no index and the venv's own packages present)."""
    tree = runtime_tree()
    tree.pop("torch")
    hashed, _ = hashed_requirements.split(LOCK, report(dict(list(tree.items())[:3])), [])
    (tmp_path / "hashed.lock").write_text(hashed)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--require-hashes", "--no-deps",
         "--requirement", str(tmp_path / "hashed.lock")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
