"""Background helpers for the VpnLink-over-tunnel test: an event loop living in a namespace, the
Azure side's real tunnel state mirrored into azure-sim, and a strategy's outbound mode followed."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Self, TypeVar

from tests.tunnel.charon import Charon
from tests.tunnel.netns import in_netns
from tests.tunnel.sas import established, parse_list_sas
from tests.vpnlink.cluster_support import AzureSimProcess

T = TypeVar("T")


class NetnsLoop:
    """An asyncio loop on a thread that lives in one network namespace: every socket it opens is there."""

    def __init__(self, netns: str) -> None:
        self.netns = netns
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=f"loop-{netns}", daemon=True)
        self._entered = threading.Event()
        self._error: BaseException | None = None

    def _main(self) -> None:
        try:
            with in_netns(self.netns):
                self._entered.set()
                self.loop.run_forever()
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._entered.set()

    def start(self) -> Self:
        self._thread.start()
        self._entered.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def submit(self, coro: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return self.submit(coro).result(timeout)

    def call(self, function: Callable[..., Any], *args: Any) -> None:
        self.loop.call_soon_threadsafe(function, *args)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        if not self.loop.is_running():
            self.loop.close()


class Poller:
    """Runs ``step`` every ``interval`` seconds on a thread until stopped."""

    def __init__(self, step: Callable[[], None], interval: float) -> None:
        self._step = step
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.errors: list[str] = []

    def _main(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:
                self.errors.append(repr(exc))
            self._stop.wait(self._interval)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def mirror_azure_side(azure: Charon, sim: AzureSimProcess, names: dict[str, str]) -> Callable[[], None]:
    """What Azure's API would say about the connection, read from the Azure side's real SAs:
    each gateway instance's tunnel (``names``: connection -> azure-sim tunnel) Connected while
    its IKE and CHILD SA are up, the connection Connected while any is."""

    def step() -> None:
        up = established(parse_list_sas(azure.list_sas()))
        tunnels = []
        for connection, tunnel in names.items():
            sa = up.get(connection)
            children = sa.children if sa else []
            tunnels.append(
                {
                    "name": tunnel,
                    "status": "Connected" if sa else "NotConnected",
                    "ingressBytes": sum(c.bytes_in for c in children),
                    "egressBytes": sum(c.bytes_out for c in children),
                }
            )
        status = "Connected" if up else "NotConnected"
        with contextlib.suppress(AssertionError):  # the sim answering 4xx is retried next round
            sim.control("POST", "/control/connection", {"status": status, "tunnels": tunnels})

    return step
