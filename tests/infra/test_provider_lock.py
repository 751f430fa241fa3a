"""The committed .terraform.lock.hcl files: they pin the provider version of versions.tf, git does not
ignore them, and `init` (through tf.sh, which passes -lockfile=readonly) refuses a provider package
whose hash the lock does not hold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.infra.conftest import REPO_ROOT, copy_terraform, make_runner

LOCKS = {
    "main": REPO_ROOT / "terraform" / ".terraform.lock.hcl",
    "bootstrap": REPO_ROOT / "terraform" / "bootstrap" / ".terraform.lock.hcl",
}
SOURCES = {
    "main": REPO_ROOT / "terraform" / "versions.tf",
    "bootstrap": REPO_ROOT / "terraform" / "bootstrap" / "main.tf",
}


@pytest.mark.parametrize("target", sorted(LOCKS))
def test_lock_is_committed_and_pins_the_required_version(target: str) -> None:
    lock = LOCKS[target].read_text(encoding="utf-8")
    required = re.search(
        r'source\s*=\s*"hashicorp/aws".*?\bversion\s*=\s*"([^"]+)"', SOURCES[target].read_text(), re.S
    )
    assert required, f"no hashicorp/aws version in {SOURCES[target].name}"
    locked = re.search(r'provider "registry.terraform.io/hashicorp/aws" \{\s*version\s*=\s*"([^"]+)"', lock)
    assert locked and locked.group(1) == required.group(1)
    # h1: the unpacked package (what a local mirror and `init` compute); zh: the registry's zips,
    # one per platform.
    assert len(re.findall(r'"h1:[A-Za-z0-9+/]{43}="', lock)) >= 1
    assert len(re.findall(r'"zh:[0-9a-f]{64}"', lock)) >= 4, "hashes for the common platforms"
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(LOCKS[target].relative_to(REPO_ROOT))], cwd=REPO_ROOT
    )
    assert ignored.returncode == 1, f"{LOCKS[target]} is git-ignored: it must be committed"


def test_init_refuses_a_provider_the_lock_does_not_hash(terraform_bin: str, tmp_path: Path) -> None:
    workdir = copy_terraform(tmp_path / "terraform")
    run = make_runner(workdir, {"TF_DATA_DIR": str(workdir / ".tfdata")})
    ok = run("bootstrap", "init", "-backend=false", "-input=false")
    assert ok.returncode == 0, ok.output

    lock = workdir / "bootstrap" / ".terraform.lock.hcl"
    tampered = re.sub(r'"h1:[^"]+"', '"h1:' + "A" * 43 + '="', lock.read_text(encoding="utf-8"))
    tampered = re.sub(r'"zh:[0-9a-f]{64}"', '"zh:' + "0" * 64 + '"', tampered)
    lock.write_text(tampered, encoding="utf-8")
    refused = run_fresh(workdir, "bootstrap")
    assert refused.returncode != 0
    assert "checksum" in refused.output.lower() or "hash" in refused.output.lower(), refused.output
    assert lock.read_text(encoding="utf-8") == tampered, "init must not rewrite the committed lock"


def run_fresh(workdir: Path, target: str):
    """init in a new data directory, so the provider is installed (and checked) again."""
    run = make_runner(workdir, {"TF_DATA_DIR": str(workdir / ".tfdata-fresh")})
    return run(target, "init", "-backend=false", "-input=false")
