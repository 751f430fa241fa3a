"""The rehearsal's stand-in actions say what they did and what they could not do offline
(textclf.rehearsal.standins)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("asked", "said"),
    [
        ("999", "asks for Node.js 999 (node-version); this runner has Node.js v"),
        ("lts/*", "node-version 'lts/*' is not checked offline"),
        ("", "(asked for: any)"),
    ],
)
def test_setup_node_says_what_was_asked_and_what_is_installed(
    asked: str, said: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from textclf.rehearsal import standins

    monkeypatch.setenv("INPUT_NODE-VERSION", asked)
    if not standins.shutil.which("node"):
        with pytest.raises(SystemExit):
            standins.setup_node()
        assert "no `node` is on this runner's PATH" in capsys.readouterr().err
        return
    standins.setup_node()
    assert said in capsys.readouterr().out


def world_environment(root: Path) -> dict[str, str]:
    """A world's environment as layered_venv reads it: its python's prefix with the lock's marker,
    and a site-packages holding a dependency and the project's own editable install."""
    prefix, packages = root / "world", root / "world" / "site-packages"
    (packages / "dep").mkdir(parents=True)
    (packages / "dep" / "__init__.py").write_text("VALUE = 1\n", encoding="utf-8")
    (packages / "textclf-0.1.0.dist-info").mkdir()
    (packages / "__editable__.textclf-0.1.0.pth").write_text("/elsewhere/src\n", encoding="utf-8")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(sys.executable)
    return {"python": str(prefix / "bin" / "python"), "site_packages": str(packages)}


@pytest.mark.parametrize("same_lock", [True, False])
def test_a_jobs_environment_links_the_worlds_packages_only_while_its_lock_is_the_worlds(
    same_lock: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from textclf.rehearsal import standins

    facts = world_environment(tmp_path)
    workspace = tmp_path / "job"
    workspace.mkdir()
    lock = workspace / "requirements.lock"
    lock.write_text("dep==1\n", encoding="utf-8")
    (tmp_path / "world" / f".locked-{standins.lock_key(lock)}").touch()
    if not same_lock:
        lock.write_text("dep==2\n", encoding="utf-8")  # `make setup` installs the lock in full
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))

    standins.layered_venv(workspace / ".venv", sys.executable, facts)

    purelib = next((workspace / ".venv" / "lib").glob("python*/site-packages"))
    assert (purelib / "dep" / "__init__.py").read_text(encoding="utf-8") == "VALUE = 1\n"
    if same_lock:
        assert (purelib / "dep").is_symlink()
        # pip would uninstall a linked project through its links: the job installs its own.
        assert not [p.name for p in purelib.iterdir() if "textclf" in p.name]
    else:  # pip replaces the dependencies: nothing of the world's may be reached through a link
        assert not [p for p in purelib.rglob("*") if p.is_symlink()]
