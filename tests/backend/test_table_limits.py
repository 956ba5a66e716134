"""Table Storage limits are enforced by the client, with errors that name the record and the limit."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import unquote

import pytest

from spyops.backend.store import HistoryQuery, StoreLimitError
from spyops.backend.store.table import TableStore, _grouped, time_keys
from spyops.backend.store.table_limits import (
    MAX_BATCH_OPERATIONS,
    check_entity,
    check_table_name,
    escape_key,
    join_payload,
    split_payload,
)
from spyops.schemas import OrderSide
from tests.backend.records import make_execution, make_signal


@pytest.mark.parametrize("raw", ["a/b", "c\\d", "e#f", "g?h", "t\tab", "\x7f", "\x9f", "50%", "plain-id.01"])
def test_escaped_keys_are_legal_and_reversible(raw: str) -> None:
    escaped = escape_key(raw)
    check_entity({"PartitionKey": "p", "RowKey": escaped}, raw)
    assert unquote(escaped) == raw


def test_forbidden_key_character_is_refused_with_the_record_named() -> None:
    with pytest.raises(StoreLimitError, match=r"record 'x1'.*RowKey"):
        check_entity({"PartitionKey": "p", "RowKey": "a/b"}, "x1")


def test_key_longer_than_1_kib_is_refused() -> None:
    with pytest.raises(StoreLimitError, match="PartitionKey is 1026 bytes"):
        check_entity({"PartitionKey": "k" * 513, "RowKey": "r"}, "x2")


def test_string_and_entity_size_limits() -> None:
    with pytest.raises(StoreLimitError, match="property big has 32769 characters"):
        check_entity({"PartitionKey": "p", "RowKey": "r", "big": "x" * 32_769}, "x3")
    many = {f"q{i}": "x" * 30_000 for i in range(18)}
    with pytest.raises(StoreLimitError, match="allows 1048576"):
        check_entity({"PartitionKey": "p", "RowKey": "r", **many}, "x4")
    too_many = {f"c{i}": 1 for i in range(253)}
    with pytest.raises(StoreLimitError, match="253 properties"):
        check_entity({"PartitionKey": "p", "RowKey": "r", **too_many}, "x5")


def test_payload_split_round_trips() -> None:
    text = "é" * 70_001
    parts = split_payload(text)
    assert len(parts) == 3
    assert all(len(v) <= 30_000 for v in parts.values())
    assert join_payload(parts) == text


def test_table_name_rule() -> None:
    assert check_table_name("spyopssignals") == "spyopssignals"
    for bad in ("1abc", "ab", "has-dash", "x" * 64):
        with pytest.raises(StoreLimitError, match="table name"):
            check_table_name(bad)


def test_batches_stay_in_one_partition_and_under_100_operations() -> None:
    entities = [{"PartitionKey": f"p{i % 3}", "RowKey": str(i)} for i in range(450)]
    batches = _grouped(entities, [100] * len(entities))
    assert all(len(batch) <= MAX_BATCH_OPERATIONS for batch in batches)
    assert all(len({e["PartitionKey"] for e in batch}) == 1 for batch in batches)
    assert sorted(e["RowKey"] for batch in batches for e in batch) == sorted(str(i) for i in range(450))


def test_time_keys_sort_newest_first() -> None:
    times = [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, 14, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 20, 14, 30, 0, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 21, tzinfo=dt.UTC),
    ]
    keys = [time_keys(t) for t in times]
    assert keys == sorted(keys, reverse=True)


async def test_oversized_record_is_refused_before_anything_is_written(azurite: str) -> None:
    store = TableStore(azurite, prefix="lim" + uuid.uuid4().hex[:10])
    await store.open()
    try:
        fine = make_signal(1)
        huge = make_signal(2).model_copy(update={"strategy": "s" * 40_000})
        with pytest.raises(
            StoreLimitError, match=rf"record '{huge.id}': property strategy has 40000 characters"
        ):
            await store.put_signals([fine, huge])
        assert (await store.list_signals(HistoryQuery())).items == []
        # The store is a library too: it refuses a key the service would refuse, whoever calls it.
        long_id = make_execution("x", OrderSide.BUY, 1, 1.0).model_copy(update={"id": "/" * 200})
        with pytest.raises(StoreLimitError, match="RowKey is 1240 bytes"):
            await store.put_executions([long_id])
    finally:
        await store.close()


async def test_a_write_cut_between_marker_and_data_is_finished_on_replay(azurite: str) -> None:
    """A crash after the id marker was written but before the record: the outbox's replay is
    reported as a duplicate (the id was claimed) and the missing record is written then."""
    store = TableStore(azurite, prefix="cut" + uuid.uuid4().hex[:10])
    await store.open()
    try:
        signal = make_signal(7)
        await store.put_signals([signal])
        page = await store.list_signals(HistoryQuery())
        assert page.items == [signal]
        data_client = store._client("signals")
        async for entity in data_client.query_entities("PartitionKey ne ''"):
            await data_client.delete_entity(entity["PartitionKey"], entity["RowKey"])  # the "lost" write
        assert (await store.list_signals(HistoryQuery())).items == []
        replay = await store.put_signals([signal])
        assert replay.duplicates == [signal.id]
        assert (await store.list_signals(HistoryQuery())).items == [signal]
    finally:
        await store.close()
