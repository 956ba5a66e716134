"""What the real node needs from the machine, checked before anything starts."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from spyops.cluster.node.config import CNI_BIN_DIR

COMMANDS = (
    "containerd",
    "containerd-shim-runc-v2",
    "ctr",
    "runc",
    "unshare",
    "nsenter",
    "ip",
    "iptables",
    "mount",
)
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")


class NodeError(RuntimeError):
    """The real node cannot start here; the message names what is missing."""


def missing_requirements() -> list[str]:
    """Everything this machine lacks for a real node, as short phrases (empty when all is there)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (the node makes namespaces, mounts and cgroups)")
    missing += [f"`{cmd}`" for cmd in COMMANDS if shutil.which(cmd) is None]
    missing += [f"CNI plugin {CNI_BIN_DIR / p}" for p in CNI_PLUGINS if not (CNI_BIN_DIR / p).is_file()]
    if not Path("/sys/fs/cgroup/memory").is_dir() and not Path("/sys/fs/cgroup/cgroup.controllers").is_file():
        missing.append("a cgroup filesystem at /sys/fs/cgroup")
    if not Path("/proc/self/ns/net").exists():
        missing.append("network namespaces")
    return missing


def require_host() -> None:
    missing = missing_requirements()
    if missing:
        raise NodeError(
            "this machine cannot run the real node; missing: "
            + ", ".join(missing)
            + " (install the Debian packages with `make node-runtime`)"
        )


def cgroup_dirs(cgroup_root: str) -> list[Path]:
    """The node's cgroup directory in every mounted hierarchy (v1 controllers and the v2 unified one)."""
    base = Path("/sys/fs/cgroup")
    relative = cgroup_root.strip("/")
    found = []
    if (base / "cgroup.controllers").is_file():
        candidate = base / relative
        if candidate.is_dir():
            found.append(candidate)
        return found
    for hierarchy in sorted(base.iterdir()):
        candidate = hierarchy / relative
        if hierarchy.is_dir() and not hierarchy.is_symlink() and candidate.is_dir():
            found.append(candidate)
    return found


def make_cgroups(cgroup_root: str) -> None:
    """kubelet wants its cgroupRoot to exist in every hierarchy; a v1 cpuset child starts with no CPUs
    or memory nodes, so those are copied from the parent."""
    base = Path("/sys/fs/cgroup")
    if (base / "cgroup.controllers").is_file():
        (base / cgroup_root.strip("/")).mkdir(exist_ok=True)
        return
    for hierarchy in sorted(base.iterdir()):
        if not hierarchy.is_dir() or hierarchy.is_symlink():
            continue
        target = hierarchy / cgroup_root.strip("/")
        target.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (hierarchy / name).is_file():
                (target / name).write_text((hierarchy / name).read_text())


def cgroup_pids(cgroup_root: str) -> set[int]:
    """Every process in the node's cgroups: the containers (each pod has its own network and mount
    namespaces, so only the cgroups they were placed in find them all)."""
    pids: set[int] = set()
    for top in cgroup_dirs(cgroup_root):
        # os.walk, not rglob: the kubelet removes a container's cgroup while we walk (rglob then raises).
        for directory, _dirs, files in os.walk(top, onerror=lambda _exc: None):
            if "cgroup.procs" in files:
                with contextlib.suppress(OSError, ValueError):
                    pids.update(int(line) for line in (Path(directory) / "cgroup.procs").read_text().split())
    return pids


def kill_until_gone(list_pids: Callable[[], Iterable[int]], timeout: float = 15.0) -> None:
    """SIGKILL whatever ``list_pids`` names until it names nothing (or ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = list(list_pids())
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def kill_cgroups(cgroup_root: str, timeout: float = 15.0) -> None:
    kill_until_gone(lambda: cgroup_pids(cgroup_root), timeout)


def remove_cgroups(cgroup_root: str) -> list[str]:
    """Kill what is left in the node's cgroups, then rmdir them bottom-up; return what could not be
    removed (empty when clean)."""
    kill_cgroups(cgroup_root)
    left = []
    for top in cgroup_dirs(cgroup_root):
        for directory in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            try:
                directory.rmdir()
            except OSError:
                left.append(str(directory))
        try:
            top.rmdir()
        except OSError:
            left.append(str(top))
    return left
