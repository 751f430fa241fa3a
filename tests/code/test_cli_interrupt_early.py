"""Ctrl-C in a command's first tenths of a second (R13A-1): while the console script imports the
command line or the command line builds its parser, `textclf` says "interrupted" and exits 130,
as it does later on; Python's stack was shown instead. A Ctrl-C is simulated by a KeyboardInterrupt
raised when the named module is imported, in a child process started as the console script starts
the command (`from textclf.cli import main; sys.exit(main())`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import textclf

SRC = Path(textclf.__file__).resolve().parents[1]  # the code under test, in the child too
REPO = Path(__file__).resolve().parents[2]

CONSOLE_SCRIPT = """
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
from textclf.cli import main
sys.exit(main(sys.argv[2:]))
"""


def run(module: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", "GITHUB_ACTIONS")}
    return subprocess.run(
        [sys.executable, "-c", CONSOLE_SCRIPT, module, *args],
        capture_output=True,
        text=True,
        env={**environ, "PYTHONPATH": str(SRC), **env},
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("argparse", ["summary"]),  # while the command line module itself loads
        ("textclf.config", ["summary"]),  # pydantic: was loaded with the command line module
        ("textclf.config", ["--help"]),
        ("textclf.serving.server", ["serve", "--help"]),  # was loaded by build_parser for every command
    ],
    ids=["command-line", "config", "config-help", "serve-flags"],
)
def test_ctrl_c_while_the_command_loads_says_interrupted(module, args, tmp_path) -> None:
    done = run(module, *args, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (130, "[textclf] interrupted\n"), done.stderr[-2000:]
    assert done.stdout == ""


def test_ctrl_c_while_a_dvc_stage_loads_says_what_dvc_removed(tmp_path) -> None:
    done = run("argparse", "prepare", cwd=tmp_path, DVC_STAGE="prepare")
    assert done.returncode == 130, done.stderr[-2000:]
    assert done.stderr.startswith("[textclf] interrupted: DVC removed the prepare stage's outputs")
    assert "Traceback" not in done.stderr


CHECK_LOADED = """
import sys
from textclf.cli import build_parser
args = build_parser().parse_args(sys.argv[1:])
print(sorted(m for m in ("numpy", "textclf.serving.server") if m in sys.modules))
print(getattr(args, "model_dir", None) is not None, getattr(args, "port", None))
"""


def test_only_serve_loads_the_server_module_to_read_its_flags(tmp_path) -> None:
    """`textclf gate` loaded the inference server and numpy (a fifth of a second) to list `serve`'s
    flags; `serve` still has them, its port checked and its params default set."""

    def parsed(*args: str) -> list[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("TEXTCLF_", "SAGEMAKER_"))}
        done = subprocess.run(
            [sys.executable, "-c", CHECK_LOADED, *args],
            capture_output=True,
            text=True,
            env={**environ, "PYTHONPATH": str(SRC)},
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.splitlines()

    assert parsed("gate") == ["[]", "False None"]
    assert parsed("summary") == ["[]", "False None"]
    assert parsed("serve", "--port", "8081") == ["['numpy', 'textclf.serving.server']", "True 8081"]


MODULE_RUN = """
import runpy
import sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "pydantic":
            raise KeyboardInterrupt
        return None

sys.meta_path.insert(0, CtrlC())
sys.argv = sys.argv[1:]
runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
"""


def test_make_clean_interrupted_while_it_reads_params_says_interrupted(tmp_path) -> None:
    """`make clean` lists the folders it must keep with Python (`python -m textclf.config keep` was
    Python's stack on a Ctrl-C while it loaded): the Makefile's own command line, interrupted while
    it loads pydantic."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\nclean:") :].split("\n\n")[0]
    found = re.search(r"\$\(BIN\)/python -m ([\w.]+)((?: [\w-]+)*) >", recipe)
    assert found, "the clean recipe no longer lists the folders to keep with $(BIN)/python -m"
    done = subprocess.run(
        [sys.executable, "-c", MODULE_RUN, found.group(1), *found.group(2).split()],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        cwd=tmp_path,
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (130, "[textclf] interrupted\n"), done.stderr[-2000:]
