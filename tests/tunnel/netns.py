"""Network namespaces for the tunnel tests: made and removed by name, entered per thread, relayed into.

Namespace names start with ``spyt-<pid>-``, so a later run can tell a lab left by a killed run
(its pid gone) from one a live run is using.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Self

CLONE_NEWNET = 0x40000000


class LabError(AssertionError):
    """The lab could not be built: a failure naming what is missing, never a skip."""


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


def delete_netns(name: str) -> None:
    run(["ip", "netns", "del", name], check=False)


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
