"""The node's namespaces: its own network namespace (bridge, iptables chains, routes and sysctls of the
node and its pods vanish with it) and a private mount namespace (pod mounts, netns files and kubelet's
/proc/sys expectations never touch the host's), joined to the host by one veth pair.

A holder process (`sleep infinity` under `unshare`) keeps both namespaces alive; every node process
enters them with `nsenter`. Killing every process in the namespace ends it, and with it everything the
node made inside.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from spyops.cluster.node.config import BRIDGE, POD_GATEWAY
from spyops.cluster.node.host import kill_until_gone

SLEEP = "/usr/bin/sleep"
# Host directories that node software writes to by fixed path; each gets a private tmpfs inside the
# mount namespace. Those that do not exist yet are created first (and removed again at `down`).
PRIVATE_DIRS = ("/run", "/var/lib/cni", "/var/log/containers", "/var/log/pods", "/opt/containerd")
# kubelet's root (it holds unix sockets, whose paths must stay short): the node's directory on disk,
# bind-mounted at the usual place inside the namespace.
KUBELET_ROOT = "/var/lib/kubelet"
CREATED_MARKER = ".created-by-spyops-node"
MOUNT_SOURCE = "spyops-node"  # the tmpfs mounts' source name, which identifies a node's namespace
# kubelet (protectKernelDefaults: false) rewrites these for the whole machine; inside the namespace it
# sees and writes files holding the values it wants instead.
KUBELET_SYSCTLS = {"vm/overcommit_memory": "1", "kernel/panic": "10", "kernel/panic_on_oops": "1"}
LINK_NET = ipaddress.IPv4Network("10.201.0.0/16")


class SandboxError(RuntimeError):
    """The node's namespaces could not be made; the message is meant for a person."""


@dataclass
class SandboxState:
    holder_pid: int
    host_if: str
    host_ip: str
    node_ip: str
    created_dirs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _run(*argv: str) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SandboxError(f"`{' '.join(argv)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def netns_inode(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def nsenter(holder_pid: int) -> list[str]:
    """The prefix that runs a command inside the node's namespaces."""
    return ["nsenter", f"--target={holder_pid}", "--net", "--mount", "--"]


def _used_link_nets() -> set[ipaddress.IPv4Network]:
    used: set[ipaddress.IPv4Network] = set()
    for line in _run("ip", "-o", "-4", "addr", "show").splitlines():
        parts = line.split()
        if "inet" in parts:
            used.add(ipaddress.IPv4Interface(parts[parts.index("inet") + 1]).network)
    return used


def _pick_link_net() -> ipaddress.IPv4Network:
    used = _used_link_nets()
    candidates: list[ipaddress.IPv4Network] = list(ipaddress.IPv4Network(LINK_NET).subnets(new_prefix=30))
    for _ in range(64):
        net = candidates[secrets.randbelow(len(candidates))]
        if not any(net.overlaps(other) for other in used):
            return net
    raise SandboxError(f"no free /30 in {LINK_NET} for the node's link to the host")


def _setup_script(state_dir: Path) -> str:
    sysctl_dir = state_dir / "sysctl"
    sysctl_dir.mkdir(parents=True, exist_ok=True)
    lines = ["set -eu"]
    for directory in PRIVATE_DIRS:
        lines.append(f"mount -t tmpfs -o mode=755 {MOUNT_SOURCE} {directory}")
    kubelet_dir = state_dir / "kubelet"
    kubelet_dir.mkdir(parents=True, exist_ok=True)
    lines.append(f"mount --bind {kubelet_dir} {KUBELET_ROOT}")
    for key, value in KUBELET_SYSCTLS.items():
        holder = sysctl_dir / key.replace("/", "-")
        holder.write_text(value + "\n")
        lines.append(f"mount --bind {holder} /proc/sys/{key}")
    lines.append("mkdir -p /run/netns")
    lines.append(f"exec {SLEEP} infinity")
    return "\n".join(lines)


def create_sandbox(state_dir: Path, log_path: Path, *, die_with_parent: bool) -> SandboxState:
    """Make the namespaces and the veth link; return what `destroy_sandbox` needs."""
    created = []
    for directory in (*PRIVATE_DIRS, KUBELET_ROOT):
        if not os.path.isdir(directory):
            os.makedirs(directory)
            # Marks the directory as the nodes' (another node may run and outlive this one).
            Path(directory, CREATED_MARKER).touch()
            created.append(directory)
    script = _setup_script(state_dir)
    from spyops.cluster.controlplane import _die_with_parent

    log = log_path.open("ab")
    process = subprocess.Popen(
        ["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_die_with_parent if die_with_parent else None,
    )
    log.close()
    state = SandboxState(holder_pid=process.pid, host_if="", host_ip="", node_ip="", created_dirs=created)
    host_ns = netns_inode(os.getpid())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            destroy_sandbox(state)
            raise SandboxError(
                f"could not make the node's namespaces (unshare exited {process.returncode}): {tail}"
            )
        if _cmdline0(process.pid) == SLEEP and netns_inode(process.pid) != host_ns:
            break
        time.sleep(0.02)
    else:
        destroy_sandbox(state)
        raise SandboxError("the node's namespaces were not ready within 10 s")
    try:
        net = _pick_link_net()
        host_ip, node_ip = (str(h) for h in list(net.hosts())[:2])
        state.host_if, state.host_ip, state.node_ip = f"spyops{secrets.token_hex(3)}", host_ip, node_ip
        inside = nsenter(process.pid)
        _run(
            "ip",
            "link",
            "add",
            state.host_if,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            str(process.pid),
        )
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", state.host_if)
        _run("ip", "link", "set", state.host_if, "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "addr", "add", f"{node_ip}/30", "dev", "eth0")
        _run(*inside, "ip", "link", "set", "eth0", "up")
        _run(*inside, "ip", "route", "add", "default", "via", host_ip)
        # The pod bridge exists before CoreDNS binds its address; the CNI bridge plugin adopts it.
        _run(*inside, "ip", "link", "add", BRIDGE, "type", "bridge")
        _run(*inside, "ip", "addr", "add", f"{POD_GATEWAY}/16", "dev", BRIDGE)
        _run(*inside, "ip", "link", "set", BRIDGE, "up")
        # Per network namespace: routing between pods and to Services happens inside the node only.
        _run(*inside, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
    except BaseException:
        destroy_sandbox(state)
        raise
    return state


def _cmdline0(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return ""


def processes_in(holder_pid: int) -> list[int]:
    """Every process in the node's network namespace (the holder, node daemons, shims, containers)."""
    target = netns_inode(holder_pid)
    if target is None:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and netns_inode(int(entry)) == target:
            found.append(int(entry))
    return found


def kill_namespace(holder_pid: int, timeout: float = 15.0) -> None:
    """SIGKILL every process left in the node's namespace (containers, shims), then the holder."""
    if _cmdline0(holder_pid) != SLEEP:
        return
    deadline = time.monotonic() + timeout
    kill_until_gone(lambda: [pid for pid in processes_in(holder_pid) if pid != holder_pid], timeout)
    with contextlib.suppress(ProcessLookupError):
        os.kill(holder_pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(holder_pid, 0)
    while time.monotonic() < deadline and _cmdline0(holder_pid) == SLEEP:
        time.sleep(0.05)


def destroy_sandbox(state: SandboxState) -> None:
    """End the namespaces (their links, bridge, chains and mounts go with them) and undo host changes."""
    kill_namespace(state.holder_pid)
    if state.host_if and shutil.which("ip"):
        subprocess.run(["ip", "link", "delete", state.host_if], capture_output=True, check=False)
    if other_nodes_alive():
        return  # their namespaces mount over these directories; the last node removes them
    for directory in (*PRIVATE_DIRS, KUBELET_ROOT):
        marker = Path(directory, CREATED_MARKER)
        with contextlib.suppress(OSError):
            if marker.is_file() and os.listdir(directory) == [CREATED_MARKER]:
                marker.unlink()
                os.rmdir(directory)


def other_nodes_alive() -> bool:
    """True while any real node's namespace holder runs (its mounts carry the source name MOUNT_SOURCE)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or _cmdline0(int(entry)) != SLEEP:
            continue
        with contextlib.suppress(OSError):
            if f" {MOUNT_SOURCE} " in Path(f"/proc/{entry}/mountinfo").read_text():
                return True
    return False
