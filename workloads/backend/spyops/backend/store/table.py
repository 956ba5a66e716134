"""Azure Table Storage store (azure-data-tables), for the Azure side's history.

Layout, per prefix (default ``spyops``):
- ``<prefix>signals``, ``<prefix>executions``, ``<prefix>orders``: one entity per record.
  PartitionKey is the record's UTC day, inverted, and RowKey its time in microseconds,
  inverted, then the escaped id: the service's natural (PartitionKey, RowKey) order is then
  newest first, and a time range is a key range.
- ``<prefix>ids``: one marker per record id (PartitionKey ``<kind>-<shard>``, the shard being
  the id's hash modulo MARKER_SHARDS; RowKey the escaped id) pointing at the data entity.
  Creating the marker is what makes a write idempotent by id: it fails when the id is stored.
- ``<prefix>chains``: the latest chain snapshot per underlying.

The JSON of each record is kept whole (split over properties p0, p1, ... to respect the 32 Ki
character limit per string) next to the few properties that reads filter on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableTransactionError, UpdateMode
from azure.data.tables.aio import TableClient, TableServiceClient

from spyops.backend.store.base import (
    HistoryQuery,
    Page,
    Record,
    StoreError,
    StoreLimitError,
    WriteResult,
    commission_update,
    record_time,
    unique_by_id,
)
from spyops.backend.store.cursor import decode_cursor, encode_cursor
from spyops.backend.store.sqlite import to_micros
from spyops.backend.store.table_limits import (
    MAX_BATCH_BYTES,
    MAX_BATCH_OPERATIONS,
    check_entity,
    check_table_name,
    escape_key,
    join_payload,
    split_payload,
)
from spyops.schemas import ChainSnapshot, Execution, OrderUpdate, Signal

# Microseconds from 0001-01-01 to the epoch: added so every representable time maps to a
# non-negative key, then inverted against a 19-digit maximum so newer sorts first.
_US_OFFSET = 62_135_596_800_000_000
_US_MAX = 10**19 - 1
_DAY_MAX = 9_999_999

Entity = dict[str, Any]


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def time_keys(value: dt.datetime) -> tuple[str, str]:
    """(PartitionKey, RowKey prefix) for a record time, both sorting newest first."""
    micros = to_micros(value)
    day = _EPOCH_ORDINAL + micros // 86_400_000_000  # floor division: right for times before 1970 too
    return f"{_DAY_MAX - day:07d}", f"{_US_MAX - (micros + _US_OFFSET):019d}"


# Few marker partitions: a batch's markers then go in a few 100-operation transactions (each
# request costs a round trip), while a partition's throughput target (2,000 entities/s) stays far
# above what one edge site sends.
MARKER_SHARDS = 4


def _marker_partition(kind: str, record_id: str) -> str:
    shard = int.from_bytes(hashlib.sha256(record_id.encode()).digest()[:4], "big") % MARKER_SHARDS
    return f"{kind}-{shard}"


def _chunks(entities: Sequence[Entity], sizes: Sequence[int]) -> list[list[Entity]]:
    """Split one partition's entities into transactions within the count and size limits."""
    batches: list[list[Entity]] = []
    current: list[Entity] = []
    current_bytes = 0
    for entity, size in zip(entities, sizes, strict=True):
        if current and (len(current) >= MAX_BATCH_OPERATIONS or current_bytes + size > MAX_BATCH_BYTES):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(entity)
        current_bytes += size
    if current:
        batches.append(current)
    return batches


def _grouped(entities: Sequence[Entity], sizes: Sequence[int]) -> list[list[Entity]]:
    by_partition: dict[str, tuple[list[Entity], list[int]]] = defaultdict(lambda: ([], []))
    for entity, size in zip(entities, sizes, strict=True):
        group = by_partition[entity["PartitionKey"]]
        group[0].append(entity)
        group[1].append(size)
    return [batch for group in by_partition.values() for batch in _chunks(*group)]


TABLE_ROLES = ("signals", "executions", "orders", "ids", "chains")


def table_names(prefix: str) -> dict[str, str]:
    """The tables a prefix uses, by role; Terraform creates exactly these (a test compares them)."""
    return {role: check_table_name(f"{prefix}{role}") for role in TABLE_ROLES}


class TableStore:
    """History in Table Storage, reached with a connection string (account key) or, given
    ``endpoint`` and ``credential`` instead, with an Entra ID token (a managed identity)."""

    def __init__(
        self,
        connection_string: str | None = None,
        *,
        prefix: str = "spyops",
        source: str = "",
        endpoint: str | None = None,
        credential: AsyncTokenCredential | None = None,
    ) -> None:
        if (connection_string is None) == (endpoint is None) or (endpoint is None) != (credential is None):
            raise ValueError("give either a connection string, or an endpoint and a credential")
        self._connection_string = connection_string
        self._endpoint = endpoint
        self._credential = credential
        self.description = f"table:{source or endpoint or 'connection string'} (prefix {prefix})"
        self._tables = table_names(prefix)
        self._service: TableServiceClient | None = None
        self._clients: dict[str, TableClient] = {}

    async def open(self) -> None:
        try:
            if self._endpoint is not None:
                self._service = TableServiceClient(endpoint=self._endpoint, credential=self._credential)
            else:
                assert self._connection_string is not None
                self._service = TableServiceClient.from_connection_string(self._connection_string)
        except ValueError as exc:
            raise StoreError(f"{self.description}: the connection string or endpoint is malformed") from exc
        try:
            for role, name in self._tables.items():
                self._clients[role] = await self._service.create_table_if_not_exists(name)
        except AzureError as exc:
            await self.close()
            raise StoreError(f"{self.description}: cannot create tables: {_short(exc)}") from exc

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        if self._service is not None:
            await self._service.close()
            self._service = None
        if self._credential is not None:
            await self._credential.close()

    def _client(self, role: str) -> TableClient:
        try:
            return self._clients[role]
        except KeyError:
            raise StoreError(f"{self.description} is not open") from None

    async def ping(self) -> None:
        try:
            chains = self._client("chains")
            async for _ in chains.query_entities("PartitionKey eq 'chain'", results_per_page=1):
                break
        except AzureError as exc:
            raise StoreError(f"{self.description}: {_short(exc)}") from exc

    # --- writes -------------------------------------------------------------

    async def _put(
        self,
        kind: str,
        records: Sequence[Record],
        extra: Callable[[Record], Mapping[str, Any]],
        update: Callable[[str, Record], Record | None] | None = None,
    ) -> WriteResult:
        """Store new ids; for a known id (stored before, or earlier in this batch), ``update(stored
        payload, record)`` may give a replacement, applied in input order."""
        first, _ = unique_by_id(records)
        data: dict[str, tuple[Entity, int]] = {}
        markers: list[Entity] = []
        for record in first:
            partition, row_prefix = time_keys(record_time(record))
            entity = _data_entity(record, extra, partition, f"{row_prefix}_{escape_key(record.id)}")
            data[record.id] = (entity, check_entity(entity, record.id))
            marker: Entity = {
                "PartitionKey": _marker_partition(kind, record.id),
                "RowKey": escape_key(record.id),
                "data_pk": entity["PartitionKey"],
                "data_rk": entity["RowKey"],
                "id": record.id,
            }
            check_entity(marker, record.id)
            markers.append(marker)
        try:
            new_ids, existing = await self._claim_ids(markers)
            await self._upsert(kind, [data[i][0] for i in new_ids], [data[i][1] for i in new_ids])
            await self._repair(kind, existing, data)
            new = set(new_ids)
            result = WriteResult()
            for record in first:
                if record.id in new:
                    result.stored.append(record.id)
            # Known ids in input order: each may update what is stored (or is a duplicate).
            first_at = {r.id: i for i, r in reversed(list(enumerate(records)))}
            known = [r for i, r in enumerate(records) if not (r.id in new and first_at[r.id] == i)]
            for record in known:
                keys = existing.get(record.id) or {
                    "data_pk": data[record.id][0]["PartitionKey"],
                    "data_rk": data[record.id][0]["RowKey"],
                }
                if update is not None and await self._update(kind, keys, record, extra, update):
                    result.updated.append(record.id)
                else:
                    result.duplicates.append(record.id)
        except StoreLimitError:
            raise
        except AzureError as exc:
            raise StoreError(f"{self.description}: writing {kind}: {_short(exc)}") from exc
        return result

    async def _update(
        self,
        kind: str,
        keys: Mapping[str, Any],
        record: Record,
        extra: Callable[[Record], Mapping[str, Any]],
        update: Callable[[str, Record], Record | None],
    ) -> bool:
        client = self._client(kind)
        current = await client.get_entity(keys["data_pk"], keys["data_rk"])
        replacement = update(join_payload(current), record)
        if replacement is None:
            return False
        entity = _data_entity(replacement, extra, keys["data_pk"], keys["data_rk"])
        check_entity(entity, replacement.id)
        await client.upsert_entity(entity, mode=UpdateMode.REPLACE)
        return True

    async def _claim_ids(self, markers: list[Entity]) -> tuple[list[str], dict[str, Entity]]:
        """Create one marker per id; return the ids claimed now and the markers that already existed."""
        ids_client = self._client("ids")
        claimed: list[str] = []
        existing: dict[str, Entity] = {}
        for batch in _grouped(markers, [0] * len(markers)):
            try:
                await ids_client.submit_transaction([("create", m) for m in batch])
                claimed.extend(m["id"] for m in batch)
                continue
            except (TableTransactionError, ResourceExistsError):
                pass  # some id of the batch is already stored: settle them one by one
            for m in batch:
                record_id = m["id"]
                try:
                    await ids_client.create_entity(m)
                    claimed.append(record_id)
                except ResourceExistsError:
                    existing[record_id] = dict(await ids_client.get_entity(m["PartitionKey"], m["RowKey"]))
        return claimed, existing

    async def _upsert(self, kind: str, entities: list[Entity], sizes: list[int]) -> None:
        client = self._client(kind)
        for batch in _grouped(entities, sizes):
            await client.submit_transaction([("upsert", e, {"mode": UpdateMode.REPLACE}) for e in batch])

    async def _repair(
        self, kind: str, existing: dict[str, Entity], data: dict[str, tuple[Entity, int]]
    ) -> None:
        """A marker without its data entity means a crash between the two writes: finish that write."""
        client = self._client(kind)
        for record_id, marker in existing.items():
            try:
                await client.get_entity(marker["data_pk"], marker["data_rk"], select=["id"])
            except ResourceNotFoundError:
                entity = dict(data[record_id][0], PartitionKey=marker["data_pk"], RowKey=marker["data_rk"])
                await client.upsert_entity(entity, mode=UpdateMode.REPLACE)

    async def put_signals(self, signals: Sequence[Signal]) -> WriteResult:
        return await self._put("signals", signals, lambda s: {"rule": s.rule.value})

    async def put_executions(self, executions: Sequence[Execution]) -> WriteResult:
        return await self._put(
            "executions",
            executions,
            lambda e: {"order_ref": e.order_ref},
            lambda payload, e: commission_update(Execution.model_validate_json(payload), e),
        )

    async def put_order_updates(self, updates: Sequence[OrderUpdate]) -> WriteResult:
        return await self._put("orders", updates, lambda u: {"order_ref": u.order_ref})

    async def put_chain(self, snapshot: ChainSnapshot) -> None:
        client = self._client("chains")
        entity: Entity = {
            "PartitionKey": "chain",
            "RowKey": escape_key(snapshot.underlying),
            "ts_us": str(to_micros(snapshot.ts)),  # a string: the SDK sends plain ints as Int32
            **split_payload(snapshot.model_dump_json()),
        }
        check_entity(entity, f"chain {snapshot.underlying}")
        try:
            try:
                current = await client.get_entity("chain", entity["RowKey"], select=["ts_us"])
            except ResourceNotFoundError:
                current = None
            if current is not None and int(current["ts_us"]) > int(entity["ts_us"]):
                return  # an older snapshot arriving late (outbox replay) must not replace a newer one
            await client.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise StoreError(f"{self.description}: writing chain: {_short(exc)}") from exc

    async def latest_chain(self, underlying: str) -> ChainSnapshot | None:
        try:
            entity = await self._client("chains").get_entity("chain", escape_key(underlying))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"{self.description}: reading chain: {_short(exc)}") from exc
        return ChainSnapshot.model_validate_json(join_payload(entity))

    # --- reads --------------------------------------------------------------

    async def _list(
        self, kind: str, model: type[Record], query: HistoryQuery, extra_name: str, extra_value: str | None
    ) -> Page[Record]:
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if query.strategy is not None:
            clauses.append("strategy eq @strategy")
            params["strategy"] = query.strategy
        if extra_value is not None:
            clauses.append(f"{extra_name} eq @extra")
            params["extra"] = extra_value
        if query.since is not None:
            # The newest day first: records at or after `since` live in partitions <= since's.
            clauses.append("PartitionKey le @since_pk and time ge @since")
            params["since_pk"] = time_keys(query.since)[0]
            params["since"] = query.since.astimezone(dt.UTC)
        if query.until is not None:
            clauses.append("PartitionKey ge @until_pk and time lt @until")
            params["until_pk"] = time_keys(query.until)[0]
            params["until"] = query.until.astimezone(dt.UTC)
        if query.cursor is not None:
            last_pk, last_rk = decode_cursor(query.cursor, kind, (str, str))
            clauses.append(
                # The SDK substitutes @names only in space-separated words.
                "(PartitionKey gt @cursor_pk or (PartitionKey eq @cursor_pk and RowKey gt @cursor_rk ) )"
            )
            params["cursor_pk"] = last_pk
            params["cursor_rk"] = last_rk
        query_filter = " and ".join(clauses) or "PartitionKey ne ''"
        found: list[Entity] = []
        try:
            async for entity in self._client(kind).query_entities(
                query_filter, parameters=params, results_per_page=min(query.limit + 1, 1000)
            ):
                found.append(dict(entity))
                if len(found) > query.limit:
                    break
        except AzureError as exc:
            raise StoreError(f"{self.description}: reading {kind}: {_short(exc)}") from exc
        more = len(found) > query.limit
        found = found[: query.limit]
        items = [model.model_validate_json(join_payload(e)) for e in found]
        next_cursor = encode_cursor(kind, [found[-1]["PartitionKey"], found[-1]["RowKey"]]) if more else None
        return Page(items=items, next_cursor=next_cursor)

    async def list_signals(self, query: HistoryQuery) -> Page[Signal]:
        return await self._list("signals", Signal, query, "rule", query.rule)

    async def list_executions(self, query: HistoryQuery) -> Page[Execution]:
        return await self._list("executions", Execution, query, "order_ref", query.order_ref)

    async def list_order_updates(self, query: HistoryQuery) -> Page[OrderUpdate]:
        return await self._list("orders", OrderUpdate, query, "order_ref", query.order_ref)

    async def all_executions(self, strategy: str | None = None) -> list[Execution]:
        query_filter = "strategy eq @strategy" if strategy is not None else "PartitionKey ne ''"
        params = {"strategy": strategy} if strategy is not None else {}
        executions: list[Execution] = []
        try:
            async for entity in self._client("executions").query_entities(
                query_filter, parameters=params, results_per_page=1000
            ):
                executions.append(Execution.model_validate_json(join_payload(entity)))
        except AzureError as exc:
            raise StoreError(f"{self.description}: reading executions: {_short(exc)}") from exc
        executions.sort(key=lambda e: (e.time, e.id))
        return executions


def _data_entity(
    record: Record, extra: Callable[[Record], Mapping[str, Any]], partition: str, row: str
) -> Entity:
    return {
        "PartitionKey": partition,
        "RowKey": row,
        "id": record.id,
        "strategy": record.strategy,
        "time": record_time(record).astimezone(dt.UTC),
        **extra(record),
        **split_payload(record.model_dump_json()),
    }


def _short(exc: AzureError) -> str:
    """The service's error code and first line: enough to act on, never the connection string."""
    code = getattr(exc, "error_code", None)
    first_line = str(exc.message if hasattr(exc, "message") else exc).splitlines()[0][:300]
    return f"{code}: {first_line}" if code else first_line
