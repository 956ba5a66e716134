"""A site-to-site VPN in two network namespaces: an "edge" and an "azure" side joined by a veth pair,
each with a private range behind it, and Debian's charon running in each (its own mount namespace,
so PID file and sockets do not clash with any other charon on the machine).

Addresses are the seeds' plan and documentation ranges, and they exist only inside the namespaces
made here; the host's interfaces and routes are never touched. Everything is removed on exit,
including when a test fails.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from tests.tunnel.charon import CHARON, SWANCTL, Charon
from tests.tunnel.netns import Forwarder, LabError, Netns, delete_netns, run, sweep_stale_labs

__all__ = ["LabError", "TunnelLab", "require_lab_tools", "sweep_stale_labs"]

PLUGINS = Path("/usr/lib/ipsec/plugins")
NEEDED_PLUGINS = ("kernel-libipsec", "kernel-netlink", "gcm", "openssl", "vici", "socket-default")

EDGE_WAN = "203.0.113.10"  # the edge's "public" address (TEST-NET-3)
AZURE_GATEWAYS = ("203.0.113.21", "203.0.113.22")  # the two instances of an active-active gateway
EDGE_LAN = "192.168.1.1"  # the edge node's address in 192.168.1.0/24 (onprem)
AZURE_HOST = "10.0.1.4"  # a private endpoint in the VNet 10.0.0.0/16 (azure)
ONPREM_SPACE = "192.168.1.0/24"
AZURE_SPACE = "10.0.0.0/16"


def require_lab_tools() -> None:
    """Fail with one message naming everything missing (run `make strongswan` as root)."""
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("root (CAP_NET_ADMIN and CAP_SYS_ADMIN, for network and mount namespaces)")
    for tool in ("ip", "unshare", "mount", "iptables", SWANCTL):
        if shutil.which(tool) is None:
            missing.append(f"`{tool}` on PATH")
    if not os.access(CHARON, os.X_OK):
        missing.append(str(CHARON))
    for plugin in NEEDED_PLUGINS:
        if not (PLUGINS / f"libstrongswan-{plugin}.so").exists():
            missing.append(f"strongSwan's {plugin} plugin ({PLUGINS}/libstrongswan-{plugin}.so)")
    if not Path("/dev/net/tun").exists():
        missing.append("/dev/net/tun (kernel-libipsec's TUN device)")
    if missing:
        raise LabError(
            "the tunnel tests need "
            + "; ".join(missing)
            + " (`make strongswan` installs Debian's strongSwan)"
        )


@dataclass
class TunnelLab:
    """Two namespaces, the veth "internet" between them, the private ranges behind each, two charons."""

    workdir: Path
    edge: Netns = field(init=False)
    azure: Netns = field(init=False)
    charons: dict[str, Charon] = field(default_factory=dict)
    _cleanups: list[Callable[[], object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Unique per run: other engineers' tests may build labs on this machine at the same time.
        tag = f"spyt-{os.getpid()}-{secrets.token_hex(3)}"
        self.edge = Netns(f"{tag}-edge")
        self.azure = Netns(f"{tag}-azure")

    def __enter__(self) -> Self:
        require_lab_tools()
        sweep_stale_labs()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _build(self) -> None:
        for ns in (self.edge, self.azure):
            run(["ip", "netns", "add", ns.name])
            self._cleanups.append(functools.partial(delete_netns, ns.name))
            ns.ip("link", "set", "lo", "up")
        # The interfaces are created directly inside the namespaces: no name ever exists on the host.
        run(
            [
                "ip",
                "link",
                "add",
                "wan0",
                "netns",
                self.edge.name,
                "type",
                "veth",
                "peer",
                "name",
                "wan0",
                "netns",
                self.azure.name,
            ]
        )
        self.edge.ip("addr", "add", f"{EDGE_WAN}/24", "dev", "wan0")
        for gateway in AZURE_GATEWAYS:
            self.azure.ip("addr", "add", f"{gateway}/24", "dev", "wan0")
        # The private range behind each side: a veth pair whose both ends stay in the namespace.
        for ns, name, address in (
            (self.edge, "lan", f"{EDGE_LAN}/24"),
            (self.azure, "vnet", f"{AZURE_HOST}/16"),
        ):
            ns.ip("link", "add", f"{name}0", "type", "veth", "peer", "name", f"{name}1")
            ns.ip("addr", "add", address, "dev", f"{name}0")
            for link in ("wan0", f"{name}0", f"{name}1"):
                ns.ip("link", "set", link, "up")

    def start_charon(self, side: str) -> Charon:
        netns = self.edge if side == "edge" else self.azure
        charon = Charon(netns, self.workdir / side)
        self.charons[side] = charon
        self._cleanups.append(charon.stop)
        return charon.start()

    def forward(self, netns: Netns, listen: tuple[str, int], target: tuple[str, int]) -> Forwarder:
        forwarder = Forwarder(netns.name, listen, target).start()
        self._cleanups.append(forwarder.stop)
        return forwarder

    def add_cleanup(self, cleanup: Callable[[], object]) -> None:
        self._cleanups.append(cleanup)

    def logs(self) -> str:
        return "\n".join(f"--- charon {side} ---\n{c.logs()[-6000:]}" for side, c in self.charons.items())

    def close(self) -> None:
        errors: list[str] = []
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                cleanup()
            except Exception as exc:
                errors.append(f"{cleanup}: {exc}")
        leftover = run(["ip", "netns", "list"], check=False).stdout
        still = [ns.name for ns in (self.edge, self.azure) if ns.name in leftover]
        if errors or still:
            raise LabError(f"lab teardown: {errors} namespaces left: {still}")
