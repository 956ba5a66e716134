"""The SQLite journal: one decision per signal, durable intents, idempotent gateway updates."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from spyops.bot.journal import Journal, JournalError, JournalExecution, OrderIntent, SignalDecision
from spyops.bot.order_refs import order_ref
from spyops.schemas import OrderSide, OrderStatus
from tests.factories import make_signal

STRATEGY = "demo/spy-0dte"


def intents_for(n: int = 0) -> list[OrderIntent]:
    signal = make_signal(n)
    assert signal.suggested_order is not None
    return [
        OrderIntent(
            order_ref=order_ref(STRATEGY, signal.id, i),
            signal_id=signal.id,
            leg=i,
            contract=leg.contract,
            side=OrderSide(leg.action.value),
            quantity=leg.ratio,
            limit_price=leg.limit_price,
        )
        for i, leg in enumerate(signal.suggested_order.legs)
    ]


def test_a_signal_is_claimed_once_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    journal = Journal(path)
    intents = intents_for()
    assert journal.claim_signal(intents[0].signal_id, SignalDecision.TRADED, intents)
    assert not journal.claim_signal(intents[0].signal_id, SignalDecision.TRADED, intents)
    assert not journal.claim_signal(intents[0].signal_id, SignalDecision.DENIED, reason="x")
    journal.close()

    reopened = Journal(path)
    assert reopened.signal_decision(intents[0].signal_id) is SignalDecision.TRADED
    assert not reopened.claim_signal(intents[0].signal_id, SignalDecision.TRADED, intents)
    orders = reopened.orders_for_signal(intents[0].signal_id)
    assert [o.status for o in orders] == [OrderStatus.INTENDED] * 3
    assert [o.leg for o in orders] == [0, 1, 2]


def test_intents_are_durable_before_claim_returns(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    intents = intents_for()
    journal.claim_signal(intents[0].signal_id, SignalDecision.TRADED, intents)
    # A second connection (another process would see the same) reads the committed rows.
    other = sqlite3.connect(str(tmp_path / "j.sqlite"))
    assert other.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 3
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_gateway_updates_are_idempotent_and_final_states_sticky(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    intent = intents_for()[0]
    journal.claim_signal(intent.signal_id, SignalDecision.TRADED, [intent])
    journal.mark_sent(intent.order_ref, client_id=101, order_id=7)
    assert journal.update_from_gateway(
        intent.order_ref, status=OrderStatus.PARTIALLY_FILLED, filled=1, avg_fill_price=2.0, perm_id=55
    )
    assert journal.update_from_gateway(
        intent.order_ref, status=OrderStatus.FILLED, filled=2, avg_fill_price=2.05
    )
    # A late, repeated "submitted" must not reopen it nor lower the fill count.
    journal.update_from_gateway(intent.order_ref, status=OrderStatus.SUBMITTED, filled=0, avg_fill_price=0)
    order = journal.order(intent.order_ref)
    assert order is not None
    assert (order.status, order.filled, order.avg_fill_price) == (OrderStatus.FILLED, 2, 2.05)
    assert (order.client_id, order.order_id, order.perm_id) == (101, 7, 55)
    assert not journal.update_from_gateway("unknown", status=OrderStatus.FILLED, filled=1, avg_fill_price=1)


def test_an_inferred_close_yields_when_the_gateway_turns_out_to_have_the_order(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    intent = intents_for()[0]
    journal.claim_signal(intent.signal_id, SignalDecision.TRADED, [intent])
    journal.update_from_gateway(
        intent.order_ref, status=OrderStatus.CANCELLED, filled=0, avg_fill_price=0, reason="never sent"
    )
    journal.update_from_gateway(
        intent.order_ref, status=OrderStatus.SUBMITTED, filled=0, avg_fill_price=0, perm_id=9
    )
    order = journal.order(intent.order_ref)
    assert order is not None
    assert order.status is OrderStatus.SUBMITTED


def test_adopting_another_replicas_order_decides_its_signal(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    intent = intents_for(3)[1]
    journal.adopt(
        intent, status=OrderStatus.FILLED, filled=2, avg_fill_price=1.6, client_id=102, order_id=4, perm_id=8
    )
    assert journal.signal_decision(intent.signal_id) is SignalDecision.ADOPTED
    assert not journal.claim_signal(intent.signal_id, SignalDecision.TRADED, intents_for(3))
    assert [o.order_ref for o in journal.orders_for_signal(intent.signal_id)] == [intent.order_ref]


def test_executions_are_recorded_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    intent = intents_for()[0]
    execution = JournalExecution(
        exec_id="0001.01",
        order_ref=intent.order_ref,
        contract=intent.contract,
        side=OrderSide.BUY,
        quantity=1,
        price=2.1,
        commission=0.0,
        time=dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC),
    )
    assert journal.record_execution(execution)
    assert not journal.record_execution(execution)
    assert journal.set_commission("0001.01", 0.65) == 0.0
    assert journal.set_commission("missing", 0.65) is None
    [stored] = journal.executions()
    assert stored.commission == 0.65
    assert stored.contract == intent.contract


def test_open_orders_and_orders_since(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite")
    intents = intents_for()
    journal.claim_signal(intents[0].signal_id, SignalDecision.TRADED, intents)
    journal.mark_sent(intents[0].order_ref, 101, 1)
    journal.update_from_gateway(intents[1].order_ref, status=OrderStatus.REJECTED, filled=0, avg_fill_price=0)
    assert {o.order_ref for o in journal.open_orders()} == {intents[0].order_ref, intents[2].order_ref}
    assert journal.orders_since(0) == 2  # sent, and the one the gateway reported on


def test_a_file_that_is_not_a_journal_fails_clearly(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not sqlite at all, just text" * 100)
    with pytest.raises(JournalError, match=r"j\.sqlite"):
        Journal(path)
