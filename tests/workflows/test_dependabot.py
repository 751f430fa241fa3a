""".github/dependabot.yml: valid against Dependabot's schema (check-jsonschema's builtin
vendor.dependabot, offline), and it watches every place the repository pins a dependency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".github" / "dependabot.yml"
BIN = Path(sys.executable).parent


def check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_dependabot_schema() -> None:
    result = check(CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_schema_rejects_a_bad_config(tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    config["updates"][0]["package-ecosystem"] = "github-action"  # a typo Dependabot would refuse
    bad = tmp_path / "dependabot.yml"
    bad.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = check(bad)
    assert result.returncode != 0
    assert "github-action" in result.stdout


def test_every_pinned_ecosystem_is_updated_weekly() -> None:
    updates = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["updates"]
    watched = {}
    for update in updates:
        folders = update.get("directories") or [update["directory"]]
        for folder in folders:
            watched[(update["package-ecosystem"], folder)] = update
    expected = {
        ("github-actions", "/"),  # .github/workflows
        ("pip", "/"),  # pyproject.toml
        ("npm", "/"),  # package.json, package-lock.json
        ("docker", "/docker"),  # the Dockerfiles' base images
        ("terraform", "/terraform"),
        ("terraform", "/terraform/bootstrap"),
    }
    assert set(watched) == expected
    for (ecosystem, folder), update in watched.items():
        assert update["schedule"]["interval"] == "weekly", ecosystem
        assert update.get("groups"), f"{ecosystem}: updates are grouped into few pull requests"
        # The folder holds what the ecosystem reads, so a moved file cannot silently go unwatched.
        manifest = {
            "github-actions": ".github/workflows",
            "pip": "pyproject.toml",
            "npm": "package-lock.json",
            "docker": "serve.Dockerfile",
            "terraform": "versions.tf" if folder == "/terraform" else "main.tf",
        }[ecosystem]
        assert (REPO / folder.lstrip("/") / manifest).exists(), f"{ecosystem}: nothing to read in {folder}"
