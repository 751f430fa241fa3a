"""The Python lock files (mk/lock.mk): every pin carries hashes, pyproject.toml's pins are what the
lock holds, `make setup` installs in hash-checking mode, and pip really refuses a file whose hash
the lock does not list (checked with the lock's own entry for a small package)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCKS = ["requirements.lock", "requirements-serve.lock"]
# One requirement of a lock: `name==version \` then one or more `--hash=sha256:<hex>` lines.
ENTRY = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)((?: \\\n\s+--hash=sha256:[0-9a-f]{64})+)?$", re.MULTILINE)


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(lock: str) -> dict[str, tuple[str, str]]:
    text = (REPO / lock).read_text(encoding="utf-8")
    return {normalised(name): (version, hashes or "") for name, version, hashes in ENTRY.findall(text)}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_has_hashes(lock: str) -> None:
    text = (REPO / lock).read_text(encoding="utf-8")
    pins = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    found = entries(lock)
    assert len(found) == len(pins) > 10, "every non-comment line starts a pin the parser understands"
    unhashed = [name for name, (_, hashes) in found.items() if "--hash=sha256:" not in hashes]
    assert not unhashed, f"{lock}: pins without hashes: {unhashed}"
    # No local index or wheel path of the machine that wrote it (a URL or a `name @ /path` pin).
    assert "file://" not in text and " @ /" not in text, "no paths of the machine that wrote it"


def test_pyproject_pins_are_the_locked_versions() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    locked = entries("requirements.lock")
    for line in [*project["dependencies"], *project["optional-dependencies"]["dev"]]:
        requirement = Requirement(line)
        version, _ = locked[normalised(requirement.name)]
        # torch is locked as its CPU build (X+cpu); `==X` matches it (PEP 440 local versions).
        assert requirement.specifier.contains(Version(version)), f"{line} vs the lock's {version}"
    assert locked["torch"][0].endswith("+cpu"), "the CPU build, not PyPI's CUDA one"


def test_make_setup_installs_in_hash_checking_mode() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-B", "--no-print-directory", ".venv/.installed"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")  # make -n prints a recipe's continued lines as they are
    installs = [line for line in dry_run.splitlines() if "pip install" in line and "-r " in line]
    assert len(installs) == 2, dry_run
    assert all("--require-hashes" in line for line in installs), installs
    torch_step = installs[0]
    assert (
        "--no-deps" in torch_step and "--extra-index-url https://download.pytorch.org/whl/cpu" in torch_step
    )
    # The torch step's file is the lock's torch entry and nothing else.
    extract = re.search(r"^(awk .*?) >\.venv/torch\.lock$", dry_run, re.MULTILINE)
    assert extract, dry_run
    torch_lock = subprocess.run(
        ["sh", "-c", extract.group(1)], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    name, _version, hashes = ENTRY.findall(torch_lock)[0]
    assert (name, len(ENTRY.findall(torch_lock))) == ("torch", 1) and hashes


def pip_install_six(tmp_path: Path, lock_text: str) -> subprocess.CompletedProcess:
    tmp_path.mkdir(parents=True, exist_ok=True)
    requirements = tmp_path / "six.lock"
    requirements.write_text(lock_text, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-cache-dir",
            "--require-hashes",
            "--no-deps",
            "--target",
            str(tmp_path / "target"),
            "-r",
            str(requirements),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_pip_accepts_the_locked_file_and_refuses_other_bytes(tmp_path: Path) -> None:
    version, hashes = entries("requirements.lock")["six"]
    lock_text = f"six=={version}{hashes}\n"
    accepted = pip_install_six(tmp_path, lock_text)
    assert accepted.returncode == 0, accepted.stderr[-2000:]
    assert list((tmp_path / "target").glob("six-*.dist-info"))

    tampered = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, lock_text)
    refused = pip_install_six(tmp_path / "again", tampered)
    assert refused.returncode != 0
    assert "DO NOT MATCH THE HASHES" in refused.stderr, refused.stderr[-2000:]
