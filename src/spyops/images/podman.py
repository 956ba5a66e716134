"""Running podman here: runc with the container ulimits this host allows (its own containers.conf,
so nothing under /etc changes), and a clear error when podman is missing."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from pathlib import Path

from spyops.toolchain import cache_root


class ImageError(RuntimeError):
    """An image could not be built, found or loaded; the message is meant for a person."""


def containers_conf() -> Path:
    """A containers.conf for this host: runc (crun refuses hybrid cgroups) and ulimits at or below the
    hard limits this process has (without CAP_SYS_RESOURCE podman's defaults cannot be set)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = hard if hard != resource.RLIM_INFINITY else 1_048_576
    # runc here refuses nproc at the hard limit itself (EPERM); 32768 (or lower) was measured to work.
    nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = 32_768 if nproc_hard == resource.RLIM_INFINITY else min(nproc_hard, 32_768)
    text = (
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
    )
    path = cache_root() / "podman" / "containers.conf"
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def podman_executable() -> str:
    podman = shutil.which("podman")
    if podman is None:
        raise ImageError(
            "podman is needed to build the images but is not installed; "
            "run `make node-runtime` (Debian: podman runc fuse-overlayfs uidmap mmdebstrap)"
        )
    return podman


def podman(*args: str, check: bool = True, capture: bool = True, timeout: float | None = None) -> str:
    """Run podman with this host's containers.conf; raise ImageError with its stderr on failure."""
    env = dict(os.environ, CONTAINERS_CONF=str(containers_conf()))
    result = subprocess.run(
        [podman_executable(), *args],
        env=env,
        capture_output=capture,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip().splitlines()[-20:] if capture else []
        raise ImageError(
            f"`podman {' '.join(args[:3])} ...` failed (exit {result.returncode}): " + "\n".join(detail)
        )
    return result.stdout if capture else ""


def image_exists(ref: str) -> bool:
    env = dict(os.environ, CONTAINERS_CONF=str(containers_conf()))
    return subprocess.run([podman_executable(), "image", "exists", ref], env=env, check=False).returncode == 0
