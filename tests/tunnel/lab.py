"""A site-to-site VPN in two network namespaces: an "edge" and an "azure" side joined by a veth pair,
each with a private range behind it, and Debian's charon running in each (its own mount namespace,
so PID file and sockets do not clash with any other charon on the machine).

Addresses are the seeds' plan and documentation ranges, and they exist only inside the namespaces
made here; the host's interfaces and routes are never touched. Everything is removed on exit,
including when a test fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

CHARON = Path("/usr/lib/ipsec/charon")
SWANCTL = "swanctl"
PLUGINS = Path("/usr/lib/ipsec/plugins")
NEEDED_PLUGINS = ("kernel-libipsec", "kernel-netlink", "gcm", "openssl", "vici", "socket-default")
CLONE_NEWNET = 0x40000000

EDGE_WAN = "203.0.113.10"  # the edge's "public" address (TEST-NET-3)
AZURE_GATEWAYS = ("203.0.113.21", "203.0.113.22")  # the two instances of an active-active gateway
EDGE_LAN = "192.168.1.1"  # the edge node's address in 192.168.1.0/24 (onprem)
AZURE_HOST = "10.0.1.4"  # a private endpoint in the VNet 10.0.0.0/16 (azure)
ONPREM_SPACE = "192.168.1.0/24"
AZURE_SPACE = "10.0.0.0/16"


class LabError(AssertionError):
    """The lab could not be built: a failure naming what is missing, never a skip."""


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


def run(
    argv: list[str], env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    if check and result.returncode != 0:
        raise LabError(
            f"`{' '.join(argv)}` exited {result.returncode}: {(result.stderr or result.stdout).strip()}"
        )
    return result


@contextlib.contextmanager
def in_netns(name: str) -> Iterator[None]:
    """Run the block with this thread in the named network namespace: sockets made here live there."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open("/proc/thread-self/ns/net") as home, open(f"/run/netns/{name}") as target:
        if libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")
        try:
            yield
        finally:
            if libc.setns(home.fileno(), CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the test's namespace")


@dataclass
class Netns:
    name: str

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["ip", "-n", self.name, *args], check=check)

    def exec_argv(self, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]


def _delete_netns(name: str) -> None:
    run(["ip", "netns", "del", name], check=False)


def _stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Charon:
    """Debian's charon in one namespace, driven over its own VICI socket; ESP through kernel-libipsec."""

    netns: Netns
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"unix://{self.workdir / 'run' / 'charon.vici'}"

    @property
    def swanctl_dir(self) -> Path:
        return self.workdir / "swanctl"

    @property
    def log_path(self) -> Path:
        return self.workdir / "charon.log"

    def _write_conf(self) -> Path:
        # Debian's own strongswan.conf (every installed plugin via strongswan.d), plus the one
        # difference from production: ESP in user space through kernel-libipsec, since this
        # kernel has no ESP. The VICI socket and log are per instance.
        conf = self.workdir / "strongswan.conf"
        conf.write_text(
            f"""charon {{
  load_modular = yes
  plugins {{
    include /etc/strongswan.d/charon/*.conf
    kernel-libipsec {{
      load = yes
    }}
    vici {{
      socket = {self.uri}
    }}
  }}
  filelog {{
    lab {{
      path = {self.log_path}
      default = 1
      ike = 2
      time_format = %H:%M:%S
      flush_line = yes
    }}
  }}
}}
swanctl {{
  load = pem pkcs1 pkcs8 x509 openssl random nonce
  socket = {self.uri}
}}
"""
        )
        return conf

    def env(self) -> dict[str, str]:
        return {**os.environ, "STRONGSWAN_CONF": str(self.workdir / "strongswan.conf")}

    def start(self) -> Self:
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        (self.swanctl_dir / "conf.d").mkdir(parents=True, exist_ok=True)
        self._write_conf()
        # A private /run (charon's PID file and stroke socket are fixed there at build time).
        script = f"mount --bind {self.workdir / 'run'} /run && exec {CHARON}"
        argv = self.netns.exec_argv("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
        with (self.workdir / "charon.stdout").open("wb") as sink:
            self.process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=self.env())
        socket_path = self.workdir / "run" / "charon.vici"
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise LabError(
                    f"charon in {self.netns.name} did not open its VICI socket:\n{self.logs()[-3000:]}"
                )
            time.sleep(0.05)
        return self

    def swanctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([SWANCTL, *args, "--uri", self.uri], env=self.env(), check=check)

    def load_all(self) -> str:
        """`swanctl --load-all` of this instance's swanctl.conf (Debian's: include conf.d/*.conf)."""
        return self.swanctl(
            "--load-all", "--noprompt", "--file", str(self.swanctl_dir / "swanctl.conf")
        ).stdout

    def list_sas(self) -> str:
        return self.swanctl("--list-sas").stdout

    def logs(self) -> str:
        parts = [
            p.read_text(errors="replace")
            for p in (self.workdir / "charon.stdout", self.log_path)
            if p.exists()
        ]
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@dataclass
class Forwarder:
    """Listens inside one namespace and relays each connection to an address in the test's namespace
    (e.g. the API server on the host's loopback, for an operator running in the edge namespace)."""

    netns: str
    listen: tuple[str, int]
    target: tuple[str, int]
    _server: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Self:
        with in_netns(self.netns):
            server = socket.create_server(self.listen, reuse_port=False)
        self._server = server
        thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                inbound, _ = server.accept()
            except OSError:
                return
            try:
                outbound = socket.create_connection(self.target, timeout=10)
            except OSError:
                inbound.close()
                continue
            outbound.settimeout(None)
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_RDWR)
            server.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_labs() -> list[str]:
    """Remove labs left by a test run that was killed (SIGKILL skips teardown): namespaces named
    ``spyt-<pid>-...`` whose pid is gone, and the processes still inside them (charon, an operator)."""
    swept = []
    for line in run(["ip", "netns", "list"], check=False).stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        parts = name.split("-")
        if len(parts) < 4 or parts[0] != "spyt" or not parts[1].isdigit() or _alive(int(parts[1])):
            continue
        for pid in run(["ip", "netns", "pids", name], check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        run(["ip", "netns", "del", name], check=False)
        swept.append(name)
    return swept


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
            self._cleanups.append(functools.partial(_delete_netns, ns.name))
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
