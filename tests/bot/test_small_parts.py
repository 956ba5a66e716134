"""Rate windows, backoff, client ids, status patch shape, crash-hook parsing."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from ib_async import IB

from spyops.bot.gateway import RECONNECT_BACKOFF_BASE, GatewayConnection, client_id_for
from spyops.bot.ratelimit import SlidingWindow
from spyops.bot.service import CrashHook
from spyops.bot.status_reporter import BotStatus
from spyops.common.retry import Backoff
from spyops.schemas import TradingState


def test_sliding_window_forgets_old_events() -> None:
    window = SlidingWindow(1.0)
    window.record(10.0, 3)
    window.record(10.5)
    assert window.count(10.9) == 4
    assert window.count(11.0) == 1
    assert window.count(11.6) == 0


async def test_reconnect_backoff_is_the_shared_policy_capped_at_max_backoff() -> None:
    # How the policy grows, caps and jitters is tested in tests/common/test_retry.py.
    async def reconcile(_ib: IB, _lost: bool) -> None:
        return None

    connection = GatewayConnection(
        IB(), host="127.0.0.1", port=1, client_id=1, reconcile=reconcile, max_backoff=8.0
    )
    assert connection.backoff == Backoff(base=RECONNECT_BACKOFF_BASE, cap=8.0)
    rng = random.Random(1)
    delays = [connection.backoff.delay(a, rng=rng) for a in range(10)]
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert len({round(d, 6) for d in delays}) == len(delays)


def test_client_ids_are_stable_per_pod_and_ordinal_wins() -> None:
    assert client_id_for(100, "bot-abc", None) == client_id_for(100, "bot-abc", None)
    assert client_id_for(100, "bot-abc", 2) == 103
    assert client_id_for(100, "bot-abc", None) > 100


def test_status_patch_has_only_the_bots_keys() -> None:
    status = BotStatus(
        leader="bot-0",
        orders_today=3,
        open_positions=1,
        realized_pnl=12.345,
        last_signal_time=dt.datetime(2026, 11, 20, 15, 0, 1, tzinfo=dt.UTC),
        enforced_trading_state=TradingState.REDUCING,
    )
    assert status.as_patch() == {
        "status": {
            "leader": "bot-0",
            "ordersToday": 3,
            "openPositions": 1,
            "realizedPnl": 12.35,
            "lastSignalTime": "2026-11-20T15:00:01Z",
            "enforcedTradingState": "REDUCING",
        }
    }


def test_crash_hook_spec_is_validated() -> None:
    with pytest.raises(ValueError, match="point must be one of"):
        CrashHook("somewhere")
    hook = CrashHook("before_journal:3")
    assert (hook.point, hook.remaining) == ("before_journal", 3)
    hook("after_send_before_ack")  # another point: nothing happens
    hook("before_journal")
    assert hook.remaining == 2
