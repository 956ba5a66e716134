"""One suite, run against SQLite and against Table Storage on Azurite (the `store` fixture)."""

from __future__ import annotations

import datetime as dt

import pytest

from spyops.backend.store import HistoryQuery, InvalidCursorError, Store
from spyops.schemas import AnomalyKind, OrderSide
from tests.backend.records import BASE_TIME, make_chain, make_execution, make_order_update, make_signal


async def test_signals_are_stored_once_by_id(store: Store) -> None:
    first = await store.put_signals([make_signal(1), make_signal(2)])
    assert first.stored == [make_signal(1).id, make_signal(2).id]
    assert first.duplicates == []
    replay = await store.put_signals([make_signal(2), make_signal(3), make_signal(3)])
    assert replay.stored == [make_signal(3).id]
    assert sorted(replay.duplicates) == sorted([make_signal(2).id, make_signal(3).id])
    page = await store.list_signals(HistoryQuery(limit=10))
    assert [s.id for s in page.items] == [make_signal(n).id for n in (3, 2, 1)]
    assert page.items[0] == make_signal(3)


async def test_first_write_wins_for_a_repeated_id(store: Store) -> None:
    await store.put_signals([make_signal(1, seconds=10)])
    again = await store.put_signals([make_signal(1, seconds=99)])
    assert again.duplicates == [make_signal(1).id]
    page = await store.list_signals(HistoryQuery())
    assert [s.event_time for s in page.items] == [make_signal(1, seconds=10).event_time]


async def test_pagination_walks_every_record_once_newest_first(store: Store) -> None:
    # 250 signals over three UTC days (several partitions in Table Storage), some sharing a timestamp.
    signals = [make_signal(n, seconds=(n // 2) * 1000.0) for n in range(250)]
    for start in range(0, len(signals), 120):
        await store.put_signals(signals[start : start + 120])
    seen: list[str] = []
    times: list[dt.datetime] = []
    cursor = None
    pages = 0
    while True:
        page = await store.list_signals(HistoryQuery(limit=37, cursor=cursor))
        pages += 1
        seen.extend(s.id for s in page.items)
        times.extend(s.event_time for s in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 7
    assert sorted(seen) == sorted(s.id for s in signals)
    assert len(seen) == len(set(seen))
    assert times == sorted(times, reverse=True)


async def test_filters_by_strategy_rule_and_time(store: Store) -> None:
    await store.put_signals(
        [
            make_signal(1, strategy="a/one", rule=AnomalyKind.PARITY),
            make_signal(2, strategy="a/one", rule=AnomalyKind.BUTTERFLY),
            make_signal(3, strategy="b/two", rule=AnomalyKind.PARITY),
            make_signal(4, seconds=86_400 * 2, strategy="a/one", rule=AnomalyKind.PARITY),
        ]
    )

    async def ids(query: HistoryQuery) -> list[str]:
        return [s.id for s in (await store.list_signals(query)).items]

    assert await ids(HistoryQuery(strategy="a/one")) == [make_signal(n).id for n in (4, 2, 1)]
    assert await ids(HistoryQuery(strategy="a/one", rule="parity")) == [make_signal(n).id for n in (4, 1)]
    since = BASE_TIME + dt.timedelta(seconds=2)
    assert await ids(HistoryQuery(since=since)) == [make_signal(n).id for n in (4, 3, 2)]
    until = BASE_TIME + dt.timedelta(seconds=3)
    assert await ids(HistoryQuery(since=since, until=until)) == [make_signal(2).id]
    assert await ids(HistoryQuery(strategy="nobody")) == []
    # Filter values are data, never query syntax (OData quotes, SQL quotes).
    assert await ids(HistoryQuery(strategy="x' or strategy ne '")) == []
    assert await ids(HistoryQuery(strategy="a/one' OR '1'='1")) == []


async def test_executions_and_order_updates(store: Store) -> None:
    fills = [
        make_execution("0001.a", OrderSide.BUY, 2, 1.20, at=BASE_TIME),
        make_execution("0001.b", OrderSide.SELL, 1, 1.50, at=BASE_TIME + dt.timedelta(minutes=5)),
        make_execution("other/strategy#1", OrderSide.BUY, 1, 2.0, strategy="b/two"),
    ]
    result = await store.put_executions(fills)
    assert len(result.stored) == 3
    assert (await store.put_executions(fills[:1])).duplicates == ["0001.a"]
    page = await store.list_executions(HistoryQuery(order_ref="ref-0001.b"))
    assert [e.id for e in page.items] == ["0001.b"]
    assert [e.id for e in await store.all_executions("paper/spy-0dte")] == ["0001.a", "0001.b"]
    assert {e.id for e in await store.all_executions()} == {"0001.a", "0001.b", "other/strategy#1"}

    updates = [make_order_update(n) for n in range(5)]
    assert len((await store.put_order_updates(updates)).stored) == 5
    assert len((await store.put_order_updates(updates)).duplicates) == 5
    listed = await store.list_order_updates(HistoryQuery(limit=2))
    assert [u.id for u in listed.items] == ["order-4:1", "order-3:1"]
    assert listed.next_cursor is not None


async def test_ids_with_characters_table_keys_forbid(store: Store) -> None:
    awkward = ["a/b", "c\\d", "e#f", "g?h", "tab\there", "100%", "\u00e9t\u00e9"]
    fills = [make_execution(exec_id, OrderSide.BUY, 1, 1.0) for exec_id in awkward]
    assert sorted((await store.put_executions(fills)).stored) == sorted(awkward)
    assert sorted((await store.put_executions(fills)).duplicates) == sorted(awkward)
    assert sorted(e.id for e in await store.all_executions()) == sorted(awkward)


async def test_large_batch_is_split_within_service_limits(store: Store) -> None:
    # 250 records in one partition: Table Storage takes at most 100 operations per transaction.
    signals = [make_signal(n, seconds=n / 1000) for n in range(250)]
    assert len((await store.put_signals(signals)).stored) == 250
    assert len((await store.put_signals(signals)).duplicates) == 250


async def test_latest_chain_keeps_the_newest(store: Store) -> None:
    assert await store.latest_chain("SPY") is None
    newer = make_chain(BASE_TIME + dt.timedelta(seconds=5), spot=591.0)
    await store.put_chain(newer)
    await store.put_chain(make_chain(BASE_TIME, spot=589.0))  # late replay of an older snapshot
    assert await store.latest_chain("SPY") == newer
    newest = make_chain(BASE_TIME + dt.timedelta(seconds=9), spot=592.0)
    await store.put_chain(newest)
    assert await store.latest_chain("SPY") == newest


async def test_foreign_cursor_is_refused(store: Store) -> None:
    await store.put_signals([make_signal(n) for n in range(3)])
    page = await store.list_signals(HistoryQuery(limit=1))
    assert page.next_cursor is not None
    with pytest.raises(InvalidCursorError):
        await store.list_executions(HistoryQuery(cursor=page.next_cursor))
    with pytest.raises(InvalidCursorError):
        await store.list_signals(HistoryQuery(cursor="not-a-cursor"))


async def test_ping(store: Store) -> None:
    await store.ping()


async def test_a_commission_report_updates_its_fill_idempotently(store: Store) -> None:
    fill = make_execution("c1", OrderSide.BUY, 2, 1.20, commission=0.0)
    reported = fill.model_copy(update={"commission": 1.30})
    assert (await store.put_executions([fill])).stored == ["c1"]

    first = await store.put_executions([reported])
    assert (first.stored, first.updated, first.duplicates) == ([], ["c1"], [])
    again = await store.put_executions([reported])  # an outbox replay
    assert (again.updated, again.duplicates) == ([], ["c1"])
    late = await store.put_executions([fill])  # the fill as first reported, replayed late
    assert (late.updated, late.duplicates) == ([], ["c1"])
    other = await store.put_executions([reported.model_copy(update={"price": 9.99, "commission": 2.0})])
    assert (other.updated, other.duplicates) == ([], ["c1"])  # not the same fill: first write wins

    assert [e.commission for e in await store.all_executions()] == [1.30]
    listed = await store.list_executions(HistoryQuery(order_ref="ref-c1"))
    assert listed.items == [reported]


async def test_a_batch_with_a_fill_and_its_commission_keeps_the_commission(store: Store) -> None:
    fill = make_execution("c2", OrderSide.SELL, 1, 2.10, commission=0.0)
    reported = fill.model_copy(update={"commission": 0.65})
    result = await store.put_executions([fill, reported, fill])
    assert result.stored == ["c2"]
    assert result.updated == ["c2"]
    assert result.duplicates == ["c2"]
    assert [e.commission for e in await store.all_executions()] == [0.65]
