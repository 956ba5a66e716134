"""One bot process against the gateway simulator (real ib_async over the TWS protocol).

These run the bot ``--standalone`` (no Kubernetes): the trading path, risk gates,
reconnects and the config hot reload are what is under test here; the Lease and
the status are covered by the cluster tests.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from spyops.bot import order_refs
from spyops.bot.gateway import RECONNECT_BACKOFF_BASE, client_id_for
from spyops.common.polling import until
from spyops.common.retry import Backoff
from spyops.gatewaysim.server import GatewayServer
from spyops.schemas import LegAction, OptionRight, RuntimeConfig, TradingState
from spyops.signalstream import SignalLog
from tests.bot.harness import (
    STRATEGY,
    BotProcess,
    atm_strikes,
    contract,
    gateway_orders,
    make_signal,
    our_gateway_orders,
    runtime_config,
    signal_server,
    simulator,
    write_config,
)


@dataclass
class Rig:
    server: GatewayServer
    log: SignalLog
    url: str
    bot: BotProcess
    config: RuntimeConfig

    def reconfigure(self, **changes: object) -> None:
        self.config = self.config.model_copy(update=changes)
        write_config(self.bot.config_path, self.config)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with simulator() as server, signal_server() as (log, url):
        config = runtime_config(server.port, url)
        config_path = tmp_path / "config.json"
        write_config(config_path, config)
        bot = BotProcess("bot-0", tmp_path, config_path, kubeconfig=None)
        bot.start()
        try:
            await bot.wait_ready()
            yield Rig(server, log, url, bot, config)
        finally:
            bot.stop()


def journal_rows(bot: BotProcess, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(f"file:{bot.journal_path}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def journal_status(bot: BotProcess, ref: str) -> str | None:
    rows = journal_rows(bot, f"SELECT status FROM orders WHERE order_ref='{ref}'")  # noqa: S608
    return str(rows[0][0]) if rows else None


async def test_a_signal_becomes_one_order_and_a_fill_and_a_replay_changes_nothing(rig: Rig) -> None:
    [strike] = atm_strikes(rig.server, 1)
    signal = make_signal(rig.server, 1, [(contract(strike), LegAction.BUY)])
    ref = order_refs.order_ref(STRATEGY, signal.id, 0)
    await rig.log.append(signal)

    await until(
        lambda: any(o["status"] == "Filled" for o in gateway_orders(rig.server, ref)), 20, what="fill"
    )
    await until(lambda: journal_status(rig.bot, ref) == "FILLED", 10, what="journal FILLED")
    assert await rig.bot.metric("spyops_bot_fills_total") == 1.0
    assert await rig.bot.metric("spyops_bot_open_positions") == 1.0
    assert await rig.bot.metric("spyops_bot_orders_total", {"outcome": "submitted"}) == 1.0

    await rig.log.append(signal)  # at-least-once delivery: the same signal again
    await rig.bot.wait_metric("spyops_bot_signals_skipped_total", {"reason": "duplicate"}, lambda v: v == 1.0)
    assert len(gateway_orders(rig.server, ref)) == 1


async def test_legged_signal_half_filled_cancels_the_rest_at_the_timeout(rig: Rig) -> None:
    low, high = sorted(atm_strikes(rig.server, 2))
    filled_leg = make_signal(rig.server, 2, [(contract(low), LegAction.BUY)])
    resting_leg = make_signal(rig.server, 2, [(contract(high), LegAction.BUY)], marketable=False)
    assert filled_leg.suggested_order is not None
    assert resting_leg.suggested_order is not None
    signal = filled_leg.model_copy(
        update={
            "suggested_order": filled_leg.suggested_order.model_copy(
                update={"legs": filled_leg.suggested_order.legs + resting_leg.suggested_order.legs}
            ),
            "quotes": filled_leg.quotes + resting_leg.quotes,
        }
    )
    refs = [order_refs.order_ref(STRATEGY, signal.id, leg) for leg in (0, 1)]
    await rig.log.append(signal)

    await until(lambda: all(gateway_orders(rig.server, r) for r in refs), 20, what="both legs at the gateway")
    await until(lambda: gateway_orders(rig.server, refs[0])[0]["status"] == "Filled", 20, what="leg 0 fill")
    # Leg 1 rests until the 3 s timeout, then the bot cancels it.
    await until(
        lambda: gateway_orders(rig.server, refs[1])[0]["status"] == "Cancelled", 20, what="leg 1 cancelled"
    )
    await until(lambda: journal_status(rig.bot, refs[1]) == "CANCELLED", 10, what="journal CANCELLED")
    assert journal_status(rig.bot, refs[0]) == "FILLED"
    assert await rig.bot.metric("spyops_bot_open_positions") == 1.0


async def test_halted_through_the_config_cancels_working_orders_within_a_second(rig: Rig) -> None:
    rig.reconfigure(execution=rig.config.execution.model_copy(update={"order_timeout_seconds": 120.0}))
    await asyncio.sleep(1.0)  # the reload is polled every 0.25 s
    [strike] = atm_strikes(rig.server, 1)
    resting = make_signal(rig.server, 3, [(contract(strike), LegAction.BUY)], marketable=False)
    ref = order_refs.order_ref(STRATEGY, resting.id, 0)
    await rig.log.append(resting)
    await until(
        lambda: [o["status"] for o in gateway_orders(rig.server, ref)] == ["Submitted"],
        20,
        what="resting order",
    )

    rig.reconfigure(trading_state=TradingState.HALTED)
    took = await until(
        lambda: gateway_orders(rig.server, ref)[0]["status"] == "Cancelled", 5, interval=0.01, what="cancel"
    )
    assert took < 1.0, f"HALTED took {took:.2f}s to cancel the working order"

    blocked = make_signal(rig.server, 4, [(contract(strike), LegAction.BUY)])
    await rig.log.append(blocked)
    await rig.bot.wait_metric("spyops_bot_risk_denials_total", {"reason": "halted"}, lambda v: v == 1.0)
    assert not gateway_orders(rig.server, order_refs.order_ref(STRATEGY, blocked.id, 0))


async def test_reducing_lets_only_closing_orders_through(rig: Rig) -> None:
    a, b = atm_strikes(rig.server, 2)
    opening = make_signal(rig.server, 5, [(contract(a), LegAction.BUY)])
    await rig.log.append(opening)
    ref = order_refs.order_ref(STRATEGY, opening.id, 0)
    await until(lambda: journal_status(rig.bot, ref) == "FILLED", 20, what="opening fill")

    rig.reconfigure(trading_state=TradingState.REDUCING)
    await asyncio.sleep(1.0)
    new_exposure = make_signal(rig.server, 6, [(contract(b, OptionRight.PUT), LegAction.BUY)])
    closing = make_signal(rig.server, 7, [(contract(a), LegAction.SELL)])
    await rig.log.append(new_exposure)
    await rig.log.append(closing)
    close_ref = order_refs.order_ref(STRATEGY, closing.id, 0)
    await until(lambda: journal_status(rig.bot, close_ref) == "FILLED", 20, what="closing fill")
    assert not gateway_orders(rig.server, order_refs.order_ref(STRATEGY, new_exposure.id, 0))
    assert await rig.bot.metric("spyops_bot_risk_denials_total", {"reason": "reducing_only"}) == 1.0
    assert await rig.bot.metric("spyops_bot_open_positions") == 0.0


async def test_connectivity_lost_then_restored_stops_reconciles_and_resumes(rig: Rig) -> None:
    [strike] = atm_strikes(rig.server, 1)
    rig.server.gateway.set_connectivity(False)  # the gateway sends 1100 to every client
    await until(lambda: not rig.bot._ready_cache, 10, poll=rig.bot._poll_ready, what="not ready after 1100")
    during = make_signal(rig.server, 8, [(contract(strike), LegAction.BUY)])
    await rig.log.append(during)
    await rig.bot.wait_metric("spyops_bot_signals_skipped_total", {"reason": "not_ready"}, lambda v: v == 1.0)
    reconciliations = await rig.bot.metric("spyops_bot_reconciliations_total", {"result": "ok"}) or 0.0
    rig.server.gateway.set_connectivity(True)  # 1102
    await rig.bot.wait_ready(20)
    assert (await rig.bot.metric("spyops_bot_reconciliations_total", {"result": "ok"}) or 0) > reconciliations

    after = make_signal(rig.server, 9, [(contract(strike), LegAction.BUY)])
    await rig.log.append(after)
    ref = order_refs.order_ref(STRATEGY, after.id, 0)
    await until(lambda: journal_status(rig.bot, ref) == "FILLED", 20, what="fill after restore")
    assert not gateway_orders(rig.server, order_refs.order_ref(STRATEGY, during.id, 0))


async def test_dropped_connections_reconnect_with_backoff_and_reconcile(rig: Rig) -> None:
    connects_before = len(
        [line for line in rig.bot.log_lines() if line.get("msg") == "connected to the gateway"]
    )
    rig.server.gateway.drop_all_connections()
    await until(lambda: not rig.bot._ready_cache, 10, poll=rig.bot._poll_ready, what="not ready after drop")
    await rig.bot.wait_ready(30)
    connects = [line for line in rig.bot.log_lines() if line.get("msg") == "connected to the gateway"]
    assert len(connects) == connects_before + 1
    [strike] = atm_strikes(rig.server, 1)
    signal = make_signal(rig.server, 10, [(contract(strike), LegAction.BUY)])
    await rig.log.append(signal)
    ref = order_refs.order_ref(STRATEGY, signal.id, 0)
    await until(lambda: journal_status(rig.bot, ref) == "FILLED", 20, what="fill after reconnect")
    assert len(our_gateway_orders(rig.server)) == 1


async def test_gateway_restart_is_ridden_out_with_backoff(rig: Rig) -> None:
    [strike] = atm_strikes(rig.server, 1)
    before = make_signal(rig.server, 11, [(contract(strike), LegAction.BUY)], marketable=False)
    await rig.log.append(before)
    before_ref = order_refs.order_ref(STRATEGY, before.id, 0)
    await until(lambda: bool(gateway_orders(rig.server, before_ref)), 20, what="resting order")
    # Down for 2 s: connects are refused, the bot retries with backoff and reconciles on return.
    await rig.server.restart(2.0)
    await rig.bot.wait_ready(30)
    failures = [
        line
        for line in rig.bot.log_lines()
        if line.get("msg") == "gateway connect or reconcile failed; retrying"
    ]
    assert failures, "the bot should have retried while the gateway was down"
    # Each wait is within the shared policy's window for its attempt (logged after counting it).
    policy = Backoff(base=RECONNECT_BACKOFF_BASE, cap=30.0)
    assert all(0.0 <= line["retry_in_s"] <= policy.ceiling(line["attempt"] - 1) + 0.005 for line in failures)
    # The order from before the restart is still the bot's to cancel at its timeout.
    await until(lambda: journal_status(rig.bot, before_ref) == "CANCELLED", 20, what="cancel after restart")
    after = make_signal(rig.server, 12, [(contract(strike), LegAction.BUY)])
    await rig.log.append(after)
    after_ref = order_refs.order_ref(STRATEGY, after.id, 0)
    await until(lambda: journal_status(rig.bot, after_ref) == "FILLED", 20, what="fill after restart")


async def test_a_client_id_held_by_another_session_is_given_up_for_the_next(rig: Rig, tmp_path: Path) -> None:
    taken = client_id_for(100, rig.bot.name, None)
    twin = BotProcess("bot-twin", tmp_path, rig.bot.config_path, kubeconfig=None)
    twin.start(SPYOPS_BOT_ORDINAL=str(taken - 101))  # the same client id as the running bot
    try:
        await twin.wait_ready(90)
        moved = [line for line in twin.log_lines() if line.get("msg") == "moving to another client id"]
        assert moved
        assert moved[-1]["client_id"] == taken + 1
        assert {taken, taken + 1} <= set(rig.server.gateway.clients)
    finally:
        twin.stop()
