"""`make typecheck` checks every tracked Python file: mypy's own source discovery, run on the
project's configuration, must find each file `git ls-files` lists, so a new root or folder cannot
be skipped silently."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from mypy.main import process_options
from mypy.modulefinder import BuildSource

ROOT = Path(__file__).resolve().parent.parent


def tracked_python_files(root: Path) -> set[str]:
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        pytest.fail(f"git and a git checkout are needed to list the tracked files of {root}")
    out = subprocess.run(
        [git, "-C", str(root), "ls-files", "-z", "--", "*.py"], check=True, capture_output=True
    )
    return {name for name in out.stdout.decode().split("\0") if name}


def mypy_sources(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[BuildSource]:
    """What a bare `mypy` (what `make typecheck` runs) would check, from mypy's own discovery."""
    monkeypatch.chdir(root)
    sources, _ = process_options(
        ["--config-file", str(root / "pyproject.toml")], stdout=io.StringIO(), stderr=io.StringIO()
    )
    return sources


def test_mypy_checks_every_tracked_python_file(monkeypatch: pytest.MonkeyPatch) -> None:
    tracked = tracked_python_files(ROOT)
    checked = {
        Path(source.path).resolve().relative_to(ROOT).as_posix()
        for source in mypy_sources(ROOT, monkeypatch)
        if source.path
    }
    missing = sorted(tracked - checked)
    assert not missing, (
        f"mypy would skip {len(missing)} tracked file(s), e.g. {missing[:5]}: add their folder to "
        "[tool.mypy] files in pyproject.toml"
    )


def test_each_file_gets_its_module_name_from_its_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """A file of the namespace package is checked as `spyops.<...>`, not as `workloads.bot.spyops...`,
    so imports between the six roots resolve to the same modules."""
    wrong = sorted(
        f"{source.path} -> {source.module}"
        for source in mypy_sources(ROOT, monkeypatch)
        if source.path and "/spyops/" in f"/{source.path}" and not source.module.startswith("spyops")
    )
    assert not wrong, f"files checked under the wrong module name: {wrong[:5]}"
