"""The connection to the IB Gateway: connect, keep connected, and say whether trading is safe.

State machine (``ConnectionState``):

    DISCONNECTED --connect--> RECONCILING --reconciled--> READY
    READY/RECONCILING --lost code (1100, 1300, 2103, 2110, 326...)--> LOST
    LOST --restored code (1101, 1102, 2104)--> RECONCILING --> READY
    any --socket closed--> DISCONNECTED --backoff with jitter--> connect again

Only READY allows orders. Every path into READY goes through the reconcile
callback, which compares the journal with the gateway and must succeed; if it
fails, the connection is dropped and the cycle starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from enum import StrEnum

from ib_async import IB
from ib_async.ib import StartupFetch

from spyops.common.retry import Backoff

log = logging.getLogger(__name__)

# Connectivity between the gateway and IB's servers (the API socket stays up).
LOST_CODES = frozenset({1100, 1300, 2103, 2105, 2110})
RESTORED_CODES = frozenset({1101, 1102, 2104, 2106})
DATA_LOST_CODES = frozenset({1101})  # restored, but market-data subscriptions are gone
CLIENT_ID_IN_USE = 326
CLIENT_ID_RETRIES = 3  # refusals with one id (a dying session of ours may still hold it) before moving on


class ConnectionState(StrEnum):
    DISCONNECTED = "DISCONNECTED"
    LOST = "LOST"
    RECONCILING = "RECONCILING"
    READY = "READY"


def client_id_for(base: int, pod_name: str, ordinal: int | None) -> int:
    """``base + 1 + ordinal``; the ordinal comes from the environment or a stable hash of the pod name.

    The same pod keeps the same id across container restarts, which lets it see and
    cancel its own orders from before the restart.
    """
    if ordinal is None:
        ordinal = int.from_bytes(hashlib.blake2b(pod_name.encode(), digest_size=4).digest()) % 997
    return base + 1 + ordinal


RECONNECT_BACKOFF_BASE = 0.25  # seconds: the first retry waits up to this


Reconcile = Callable[[IB, bool], Awaitable[None]]  # (ib, market data lost) -> None; raises on failure


class GatewayConnection:
    def __init__(
        self,
        ib: IB,
        *,
        host: str,
        port: int,
        client_id: int,
        reconcile: Reconcile,
        on_state: Callable[[ConnectionState], None] | None = None,
        connect_timeout: float = 10.0,
        max_backoff: float = 30.0,
    ) -> None:
        self.ib = ib
        self.host = host
        self.port = port
        self.client_id = client_id
        self._reconcile = reconcile
        self._on_state = on_state
        self.connect_timeout = connect_timeout
        self.backoff = Backoff(base=RECONNECT_BACKOFF_BASE, cap=max_backoff)
        self.state = ConnectionState.DISCONNECTED
        self.state_since = time.monotonic()
        self.clock_offset = 0.0  # gateway clock - local clock, seconds
        self.connects = 0
        self.reconciliations = 0
        self.last_error = ""
        self._wake = asyncio.Event()
        self._restore_task: asyncio.Task[None] | None = None
        self._client_id_refusals = 0
        self._reconcile_lock = asyncio.Lock()
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected

    # state ---------------------------------------------------------------------------
    def _set(self, state: ConnectionState) -> None:
        if state is self.state:
            return
        log.info(
            "gateway connection state", extra={"from": self.state.value, "to": state.value, "port": self.port}
        )
        self.state = state
        self.state_since = time.monotonic()
        if self._on_state is not None:
            self._on_state(state)

    @property
    def ready(self) -> bool:
        return self.state is ConnectionState.READY and self.ib.isConnected()

    def market_now(self) -> dt.datetime:
        """The gateway's clock (the market's), from the offset measured at connect."""
        return dt.datetime.fromtimestamp(time.time() + self.clock_offset, dt.UTC)

    # events from ib_async ---------------------------------------------------------------
    def _on_error(self, req_id: int, code: int, message: str, _contract: object) -> None:
        if code in LOST_CODES:
            self.last_error = f"{code}: {message}"
            if self.state is not ConnectionState.DISCONNECTED:
                self._set(ConnectionState.LOST)
        elif code in RESTORED_CODES:
            if self.state is ConnectionState.LOST or (
                self.state is ConnectionState.READY and code in DATA_LOST_CODES
            ):
                self._restore_task = asyncio.ensure_future(self._restore(code in DATA_LOST_CODES))
        elif code == CLIENT_ID_IN_USE:
            self.last_error = f"{code}: {message}"
            self._client_id_refusals += 1
            log.error("client id already in use at the gateway", extra={"client_id": self.client_id})

    def _on_disconnected(self) -> None:
        self._set(ConnectionState.DISCONNECTED)
        self._wake.set()

    async def _restore(self, data_lost: bool) -> None:
        try:
            await self.reconcile_now(data_lost)
        except Exception as exc:
            log.error("reconciliation after restore failed; reconnecting", extra={"error": repr(exc)[:500]})
            self.ib.disconnect()

    async def reconcile_now(self, data_lost: bool) -> None:
        async with self._reconcile_lock:
            self._set(ConnectionState.RECONCILING)
            await self._reconcile(self.ib, data_lost)
            self.reconciliations += 1
            if self.ib.isConnected() and self.state is ConnectionState.RECONCILING:
                self._set(ConnectionState.READY)

    # the loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Stay connected until cancelled."""
        attempt = 0
        try:
            while True:
                if not self.ib.isConnected():
                    try:
                        await self._connect()
                        attempt = 0
                    except Exception as exc:
                        self.last_error = repr(exc)[:300]
                        with contextlib.suppress(Exception):
                            self.ib.disconnect()
                        self._set(ConnectionState.DISCONNECTED)
                        delay = self.backoff.delay(attempt)
                        attempt += 1
                        if self._client_id_refusals >= CLIENT_ID_RETRIES:
                            # Another live session holds our id (a hash collision between two pods,
                            # or a stale session that does not go away): take the next one. Our
                            # orders placed under the old id stay visible through reconciliation.
                            self._client_id_refusals = 0
                            self.client_id += 1
                            log.warning("moving to another client id", extra={"client_id": self.client_id})
                        log.warning(
                            "gateway connect or reconcile failed; retrying",
                            extra={
                                "error": self.last_error,
                                "retry_in_s": round(delay, 2),
                                "attempt": attempt,
                            },
                        )
                        await asyncio.sleep(delay)
                        continue
                self._wake.clear()
                if self.ib.isConnected():
                    await self._wake.wait()
        finally:
            with contextlib.suppress(Exception):
                self.ib.disconnect()

    async def _connect(self) -> None:
        self._set(ConnectionState.DISCONNECTED)
        # Orders and executions are fetched by our own reconciliation (all clients, not just ours).
        await self.ib.connectAsync(
            self.host,
            self.port,
            clientId=self.client_id,
            timeout=self.connect_timeout,
            fetchFields=StartupFetch(0),
        )
        self.connects += 1
        self._client_id_refusals = 0
        server_time = await asyncio.wait_for(self.ib.reqCurrentTimeAsync(), self.connect_timeout)
        self.clock_offset = server_time.timestamp() - time.time()
        log.info(
            "connected to the gateway",
            extra={
                "host": self.host,
                "port": self.port,
                "client_id": self.client_id,
                "clock_offset_s": round(self.clock_offset, 3),
            },
        )
        await asyncio.wait_for(self.reconcile_now(True), self.connect_timeout * 3)
