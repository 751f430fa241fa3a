"""`textclf rehearse` (`make rehearse`): the release loop's workflow files run by nektos/act against
the local cloud and a fake GitHub, offline. The world and the stand-ins are in textclf.rehearsal;
the scenarios, and what each asserts, in textclf.rehearsal.scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textclf.rehearsal.world import RehearsalError

__all__ = ["RehearsalError", "main"]


def main(workflow: str, keep: bool = False) -> dict[str, Any]:
    """Run the release loop's scenarios (`workflow` is kept for the CLI: both run the whole loop,
    which starts with pull requests)."""
    from textclf.rehearsal import scenarios

    source = Path.cwd()
    if not (source / "Makefile").is_file() or not (source / ".git").exists():
        raise RehearsalError("run the rehearsal from the repository root (make rehearse)")
    return scenarios.rehearse(source, keep)
