"""Build Go commands from a pinned wrapper module, once, into a cache outside the checkout.

A wrapper module (``go.mod`` + ``go.sum`` checked into the repo) pins every
version. The cache key is a digest of those files, the tool list and the Go
version, so a version bump rebuilds and anything else reuses. Builds go to a
temporary folder that is renamed into place, under a file lock, so two
processes asking at once build once and never see a half-written binary.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_MANIFEST = "manifest.json"


class GoBuildError(RuntimeError):
    """A Go build could not run or failed; the message says what to do."""


@dataclass(frozen=True)
class GoTool:
    """One command to build: output file name, Go package path, extra ldflags and build tags."""

    name: str
    package: str
    ldflags: tuple[str, ...] = field(default=())
    tags: tuple[str, ...] = field(default=())


def cache_root() -> Path:
    """Where built tools live: $SPYOPS_CACHE_DIR, else $XDG_CACHE_HOME/spyops, else ~/.cache/spyops."""
    explicit = os.environ.get("SPYOPS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "spyops"


def _go_executable() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoBuildError(
            "the Go toolchain is needed to build the pinned tools but `go` is not on PATH; "
            "install Go >= 1.26 (or point KUBEBUILDER_ASSETS at prebuilt control-plane binaries)"
        )
    return go


def _go_version(go: str) -> str:
    out = subprocess.run([go, "env", "GOVERSION"], check=True, capture_output=True, text=True).stdout
    return out.strip()


def _required_go(module_dir: Path) -> tuple[int, int]:
    match = re.search(r"^go (\d+)\.(\d+)", (module_dir / "go.mod").read_text(), re.MULTILINE)
    if match is None:
        raise GoBuildError(f"{module_dir / 'go.mod'} has no `go` directive")
    return int(match.group(1)), int(match.group(2))


def _parse_go_version(text: str) -> tuple[int, int]:
    match = re.match(r"go(\d+)\.(\d+)", text)
    if match is None:
        raise GoBuildError(f"cannot parse Go version {text!r}")
    return int(match.group(1)), int(match.group(2))


def cache_key(module_dir: Path, tools: Sequence[GoTool], go_version: str) -> str:
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        digest.update((module_dir / name).read_bytes())
    # A module with its own command (not only a tools.go pinning others) is keyed by its source too;
    # modules with only tools.go keep the key they always had.
    for source in sorted(module_dir.glob("*.go")):
        if source.name != "tools.go":
            digest.update(source.name.encode() + b"\0" + source.read_bytes())
    # Tags join the key only when set, so the keys (and caches) of tools without tags stay as they were.
    digest.update(
        json.dumps(
            [[t.name, t.package, list(t.ldflags)] + ([list(t.tags)] if t.tags else []) for t in tools]
        ).encode()
    )
    digest.update(go_version.encode())
    return digest.hexdigest()[:16]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_go_tools(
    module_dir: Path,
    tools: Sequence[GoTool],
    *,
    cache_subdir: str,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Return {name: path} of the built tools, building the missing ones first."""
    say = progress or log.info
    for name in ("go.mod", "go.sum"):
        if not (module_dir / name).is_file():
            raise GoBuildError(f"missing {module_dir / name}: the pinned wrapper module is incomplete")
    go = _go_executable()
    version = _go_version(go)
    if _parse_go_version(version) < _required_go(module_dir):
        need = ".".join(map(str, _required_go(module_dir)))
        raise GoBuildError(f"{module_dir / 'go.mod'} needs Go >= {need}, but `go` is {version}")
    target = cache_root() / cache_subdir / cache_key(module_dir, tools, version)
    with _locked(cache_root() / cache_subdir / ".lock"):
        if (target / _MANIFEST).is_file():
            return {tool.name: target / tool.name for tool in tools}
        staging = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=readonly")
            timings: dict[str, float] = {}
            for tool in tools:
                say(f"building {tool.name} from {tool.package} (cached under {target.parent}) ...")
                started = time.monotonic()
                cmd = [go, "build", "-trimpath", "-o", str(staging / tool.name)]
                if tool.ldflags:
                    cmd += ["-ldflags", " ".join(tool.ldflags)]
                if tool.tags:
                    cmd += ["-tags", ",".join(tool.tags)]
                cmd.append(tool.package)
                result = subprocess.run(cmd, cwd=module_dir, env=env, capture_output=True, text=True)
                if result.returncode != 0:
                    raise GoBuildError(f"`go build {tool.package}` failed:\n{result.stderr[-4000:]}")
                timings[tool.name] = round(time.monotonic() - started, 1)
                say(f"built {tool.name} in {timings[tool.name]} s")
            (staging / _MANIFEST).write_text(
                json.dumps(
                    {"go": version, "tools": [t.name for t in tools], "build_seconds": timings}, indent=2
                )
            )
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return {tool.name: target / tool.name for tool in tools}
