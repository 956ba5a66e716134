"""Reports the bot's numbers to its TradingStrategy's status, at a bounded rate.

Only the keys the bot owns are written, with a JSON merge patch on the ``status``
subresource, so the operator's fields (conditions, phase, ...) are never touched.
Only the leader reports (followers would fight over ``leader``). A patch goes out
when something changed, at most once per ``min_interval`` seconds; failures are
logged and retried on the next tick, never raised into the trading loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lightkube import AsyncClient
from lightkube.generic_resource import create_namespaced_resource
from lightkube.types import PatchType

from spyops.schemas import TradingState

log = logging.getLogger(__name__)

TradingStrategy = create_namespaced_resource("spyops.io", "v1alpha1", "TradingStrategy", "tradingstrategies")


@dataclass(frozen=True)
class BotStatus:
    leader: str
    orders_today: int
    open_positions: int
    realized_pnl: float
    last_signal_time: dt.datetime | None
    enforced_trading_state: TradingState

    def as_patch(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "leader": self.leader,
            "ordersToday": self.orders_today,
            "openPositions": self.open_positions,
            "realizedPnl": round(self.realized_pnl, 2),
            "enforcedTradingState": self.enforced_trading_state.value,
        }
        if self.last_signal_time is not None:
            status["lastSignalTime"] = (
                self.last_signal_time.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            )
        return {"status": status}


class StatusReporter:
    def __init__(
        self,
        client: AsyncClient,
        *,
        namespace: str,
        name: str,
        snapshot: Callable[[], BotStatus | None],
        min_interval: float = 2.0,
        poll_interval: float = 0.2,
    ) -> None:
        self._client = client
        self.namespace = namespace
        self.name = name
        self._snapshot = snapshot
        self.min_interval = min_interval
        self.poll_interval = poll_interval
        self._last_sent: dict[str, Any] | None = None
        self._last_sent_at = float("-inf")
        self.patches = 0
        self.errors = 0

    async def report_once(self) -> bool:
        """Patch if there is something new and the rate allows; True when a patch was sent."""
        status = self._snapshot()
        if status is None:
            return False
        body = status.as_patch()
        if body == self._last_sent or time.monotonic() - self._last_sent_at < self.min_interval:
            return False
        self._last_sent_at = time.monotonic()
        try:
            await self._client.patch(
                TradingStrategy.Status,
                self.name,
                body,
                namespace=self.namespace,
                patch_type=PatchType.MERGE,
            )
        except Exception as exc:  # the API server being away must never stop trading
            self.errors += 1
            log.warning(
                "status patch failed",
                extra={"strategy": f"{self.namespace}/{self.name}", "error": repr(exc)[:300]},
            )
            return False
        self._last_sent = body
        self.patches += 1
        return True

    async def run(self) -> None:
        while True:
            await self.report_once()
            await asyncio.sleep(self.poll_interval)
