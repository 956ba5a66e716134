"""Crash safety: SIGKILL the bot around sending orders, many times; no signal ever gets two orders.

Each round starts the bot with the fault-injection hook armed at a random point
(before the journal write, between the journal write and the send, after the send
before the gateway's ack) and a random occurrence, publishes signals, and also
SIGKILLs it from outside at a random moment. After the last round a clean bot
reconciles, every signal is delivered once more, and then:
- no orderRef appears twice at the gateway, and no signal has more orders than legs;
- every order of ours at the gateway is in the journal with the gateway's status and fills;
- every journal order the gateway does not know is closed as never sent (or lost),
  and nothing is left INTENDED.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections import Counter
from pathlib import Path

from spyops.bot import order_refs
from spyops.bot.service import CRASH_ENV, CRASH_POINTS
from spyops.common.polling import until
from spyops.schemas import LegAction, Signal
from tests.bot.harness import (
    BotProcess,
    atm_strikes,
    contract,
    make_signal,
    our_gateway_orders,
    runtime_config,
    signal_server,
    simulator,
    write_config,
)

ROUNDS = 8
GATEWAY_TO_JOURNAL = {"Filled": "FILLED", "Cancelled": "CANCELLED", "Submitted": "SUBMITTED"}


async def test_random_kills_around_sending_never_duplicate_an_order(tmp_path: Path) -> None:
    rng = random.Random(20261120)
    async with simulator() as server, signal_server() as (log, url):
        # Quotes never count as stale here, so a replayed signal would pass the risk engine:
        # only the journal stands between a replay and a second order.
        config = runtime_config(
            server.port, url, execution={"order_timeout_seconds": 2.0}, stale_after_ms=3_600_000
        )
        config_path = tmp_path / "config.json"
        write_config(config_path, config)
        bot = BotProcess("bot-0", tmp_path, config_path, kubeconfig=None)
        published: list[Signal] = []
        crashes_by_hook = 0
        try:
            for round_no in range(ROUNDS):
                point = rng.choice(sorted(CRASH_POINTS))
                bot.start(**{CRASH_ENV: f"{point}:{rng.randint(1, 2)}"})
                await bot.wait_ready(60)
                # Redeliveries while trading (a restarted detector re-detects the same anomalies
                # under the same ids): only the journal stands between them and a second order.
                for again in rng.sample(published, min(2, len(published))):
                    await log.append(again)
                strikes = atm_strikes(server, 3)
                for n in range(3):
                    legs = [(contract(strikes[n]), LegAction.BUY)]
                    if rng.random() < 0.5:
                        legs.append((contract(strikes[(n + 1) % 3]), LegAction.BUY))
                    signal = make_signal(server, round_no * 10 + n, legs, marketable=rng.random() < 0.7)
                    published.append(signal)
                    await log.append(signal)
                    await asyncio.sleep(rng.uniform(0.0, 0.3))
                    if not bot.alive():
                        break
                if bot.alive():
                    await asyncio.sleep(rng.uniform(0.0, 0.5))
                    bot.kill()
                else:
                    crashes_by_hook += 1
                assert bot.process is not None
                assert bot.process.returncode is not None
            assert crashes_by_hook >= ROUNDS // 2, "the fault-injection hook should have fired in most rounds"

            # A clean start reconciles; wait until every order of ours at the gateway is final.
            bot.start()
            await bot.wait_ready(60)
            for again in published:
                await log.append(again)
            await asyncio.sleep(2.0)
            early = Counter(str(o["orderRef"]) for o in our_gateway_orders(server))
            assert all(count == 1 for count in early.values()), f"duplicate orderRefs: {early.most_common(3)}"
            await until(
                lambda: all(o["status"] in ("Filled", "Cancelled") for o in our_gateway_orders(server)),
                30,
                what="no working orders left",
            )
            await asyncio.sleep(1.0)  # the last status reports reach the journal

            at_gateway = our_gateway_orders(server)
            refs = Counter(str(o["orderRef"]) for o in at_gateway)
            assert all(count == 1 for count in refs.values()), f"duplicate orderRefs: {refs.most_common(3)}"
            legs_of = {s.id: len(s.suggested_order.legs) for s in published if s.suggested_order}
            per_signal = Counter(order_refs.parse(ref).signal_id for ref in refs)  # type: ignore[union-attr]
            for signal_id, count in per_signal.items():
                assert count <= legs_of[signal_id]
            assert at_gateway, "some orders must have reached the gateway for this test to mean anything"

            db = sqlite3.connect(f"file:{bot.journal_path}?mode=ro", uri=True)
            journal = {
                row[0]: (row[1], row[2], row[3])
                for row in db.execute("SELECT order_ref, status, filled, reason FROM orders")
            }
            db.close()
            for order in at_gateway:
                ref = str(order["orderRef"])
                assert ref in journal, f"{ref} is at the gateway but not in the journal"
                status, filled, _ = journal[ref]
                assert status == GATEWAY_TO_JOURNAL[str(order["status"])], (
                    f"{ref}: {status} vs {order['status']}"
                )
                assert filled == order["filled"], f"{ref}: filled {filled} vs {order['filled']}"
            for ref, (status, _, reason) in journal.items():
                assert status != "INTENDED", f"{ref} left INTENDED after reconciliation"
                if ref not in refs:
                    assert status in ("CANCELLED", "REJECTED"), f"{ref}: {status} but unknown at the gateway"
                    assert reason, f"{ref}: closed without a reason"
        finally:
            bot.stop()
