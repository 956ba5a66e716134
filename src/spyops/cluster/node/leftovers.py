"""What a real node could leave on the host, listed so that a test can compare before and after.

Only what the node itself could have made is listed (other work on the same machine may create and
remove its own links, chains and processes meanwhile): links named like the node's veth, kubelet's and
kube-proxy's iptables chains in the host's tables, mounts and processes that mention the node's state
directory or its private directories, cgroups named like the node's cgroup root."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from spyops.cluster.node.sandbox import KUBELET_ROOT, PRIVATE_DIRS

_CHAIN_PREFIXES = ("KUBE-", "CNI-")


def _iptables_chains() -> set[str]:
    chains = set()
    for tool in ("iptables-save", "ip6tables-save"):
        result = subprocess.run([tool], capture_output=True, text=True, check=False)
        table = ""
        for line in result.stdout.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":") and line[1:].startswith(_CHAIN_PREFIXES):
                chains.add(f"{tool.split('-')[0]}/{table}/{line[1:].split()[0]}")
    return chains


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=False).stdout
    names = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}
    return {name for name in names if name.startswith("spyops") or name == "cni0"}


def _mounts(markers: tuple[str, ...]) -> set[str]:
    found = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4]
        if any(marker in mount_point for marker in markers) or mount_point in (
            *PRIVATE_DIRS[1:],
            KUBELET_ROOT,
        ):
            found.add(mount_point)
    return found


def _processes(markers: tuple[str, ...]) -> set[str]:
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
            cmdline = (
                Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        if "\nState:\tZ" in status:
            continue  # already dead, waiting for its parent (or init) to reap it
        if any(marker in cmdline for marker in markers):
            found.add(f"{entry} {cmdline[:200]}")
    return found


def _cgroups() -> set[str]:
    base = Path("/sys/fs/cgroup")
    found: set[str] = set()
    for hierarchy in base.iterdir():
        if hierarchy.is_dir() and not hierarchy.is_symlink():
            found.update(str(p) for p in hierarchy.glob("spyops-node-*"))
    return found


def snapshot(state_dir: Path) -> dict[str, set[str]]:
    # The shims name the node's containerd socket (on its private /run) and the CRI namespace.
    markers = (str(state_dir), "-namespace k8s.io")
    return {
        "processes": _processes(markers),
        "mounts": _mounts(markers),
        "cgroups": _cgroups(),
        "links": _links(),
        "iptables chains": _iptables_chains(),
        "directories": {d for d in (*PRIVATE_DIRS, KUBELET_ROOT) if os.path.isdir(d)},
    }


def new_since(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, set[str]]:
    """What exists now that did not before, per kind (only non-empty kinds)."""
    return {
        kind: after[kind] - before.get(kind, set()) for kind in after if after[kind] - before.get(kind, set())
    }
