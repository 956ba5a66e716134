"""SQLite store: the default backend store and the one the edge runs.

One connection, used from worker threads under a lock, in WAL mode with full
synchronous commits: a write acknowledged to the edge's outbox survives a crash.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from spyops.backend.store.base import (
    HistoryQuery,
    Page,
    Record,
    StoreError,
    WriteResult,
    commission_update,
    record_time,
)
from spyops.backend.store.cursor import decode_cursor, encode_cursor
from spyops.schemas import ChainSnapshot, Execution, OrderUpdate, Signal

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    id TEXT PRIMARY KEY, ts_us INTEGER NOT NULL, strategy TEXT NOT NULL, rule TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_by_time ON signals (ts_us DESC, id DESC);
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY, ts_us INTEGER NOT NULL, strategy TEXT NOT NULL, order_ref TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_time ON executions (ts_us DESC, id DESC);
CREATE TABLE IF NOT EXISTS order_updates (
    id TEXT PRIMARY KEY, ts_us INTEGER NOT NULL, strategy TEXT NOT NULL, order_ref TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS order_updates_by_time ON order_updates (ts_us DESC, id DESC);
CREATE TABLE IF NOT EXISTS chains (
    underlying TEXT PRIMARY KEY, ts_us INTEGER NOT NULL, payload TEXT NOT NULL
);
"""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_micros(value: dt.datetime) -> int:
    """Microseconds since the epoch; naive times are refused (they are ambiguous)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a timezone")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class SqliteStore:
    def __init__(self, path: Path | str) -> None:
        self._path = str(path)
        self.description = f"sqlite:{self._path}"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    async def open(self) -> None:
        await asyncio.to_thread(self._open_sync)

    def _open_sync(self) -> None:
        try:
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise StoreError(f"cannot open SQLite store {self._path}: {reason}") from exc
        self._conn = conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await asyncio.to_thread(conn.close)

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        def locked() -> T:
            conn = self._conn
            if conn is None:
                raise StoreError(f"SQLite store {self._path} is not open")
            with self._lock:
                try:
                    return work(conn)
                except sqlite3.Error as exc:
                    raise StoreError(f"SQLite store {self._path}: {exc}") from exc

        return await asyncio.to_thread(locked)

    async def ping(self) -> None:
        await self._run(lambda conn: conn.execute("SELECT 1").fetchone())

    # --- writes -------------------------------------------------------------

    async def _put(
        self,
        table: str,
        rows: Sequence[Record],
        extra: Callable[[Record], str],
        update: Callable[[str, Record], Record | None] | None = None,
    ) -> WriteResult:
        """Insert new ids; for a known id, ``update(stored payload, record)`` may give a replacement.

        Records are taken in input order, so a batch that repeats an id (a fill, then its
        commission report) is handled as two writes."""
        prepared = [
            (r, (r.id, to_micros(record_time(r)), getattr(r, "strategy", ""), extra(r), r.model_dump_json()))
            for r in rows
        ]
        select = f"SELECT payload FROM {table} WHERE id = ?"  # noqa: S608 (table is ours)

        def write(conn: sqlite3.Connection) -> WriteResult:
            result = WriteResult()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for record, row in prepared:
                    cursor = conn.execute(f"INSERT OR IGNORE INTO {table} VALUES (?, ?, ?, ?, ?)", row)  # noqa: S608 (table is ours)
                    if cursor.rowcount == 1:
                        result.stored.append(record.id)
                        continue
                    replacement = None
                    if update is not None:
                        (payload,) = conn.execute(select, (record.id,)).fetchone()
                        replacement = update(payload, record)
                    if replacement is None:
                        result.duplicates.append(record.id)
                        continue
                    conn.execute(
                        f"UPDATE {table} SET payload = ? WHERE id = ?",  # noqa: S608 (table is ours)
                        (replacement.model_dump_json(), record.id),
                    )
                    result.updated.append(record.id)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return result

        return await self._run(write)

    async def put_signals(self, signals: Sequence[Signal]) -> WriteResult:
        return await self._put("signals", signals, lambda s: s.rule.value)

    async def put_executions(self, executions: Sequence[Execution]) -> WriteResult:
        return await self._put(
            "executions",
            executions,
            lambda e: e.order_ref,
            lambda payload, e: commission_update(Execution.model_validate_json(payload), e),
        )

    async def put_order_updates(self, updates: Sequence[OrderUpdate]) -> WriteResult:
        return await self._put("order_updates", updates, lambda u: u.order_ref)

    async def put_chain(self, snapshot: ChainSnapshot) -> None:
        row = (snapshot.underlying, to_micros(snapshot.ts), snapshot.model_dump_json())
        await self._run(
            lambda conn: conn.execute(
                "INSERT INTO chains VALUES (?, ?, ?) ON CONFLICT (underlying) DO UPDATE SET "
                "ts_us = excluded.ts_us, payload = excluded.payload WHERE excluded.ts_us >= chains.ts_us",
                row,
            )
        )

    async def latest_chain(self, underlying: str) -> ChainSnapshot | None:
        sql = "SELECT payload FROM chains WHERE underlying = ?"
        row = await self._run(lambda conn: conn.execute(sql, (underlying,)).fetchone())
        return None if row is None else ChainSnapshot.model_validate_json(row[0])

    # --- reads --------------------------------------------------------------

    async def _list(
        self, table: str, model: type[Record], query: HistoryQuery, extra_column: str, extra_value: str | None
    ) -> Page[Record]:
        where: list[str] = []
        params: list[Any] = []
        if query.strategy is not None:
            where.append("strategy = ?")
            params.append(query.strategy)
        if extra_value is not None:
            where.append(f"{extra_column} = ?")
            params.append(extra_value)
        if query.since is not None:
            where.append("ts_us >= ?")
            params.append(to_micros(query.since))
        if query.until is not None:
            where.append("ts_us < ?")
            params.append(to_micros(query.until))
        if query.cursor is not None:
            ts_us, last_id = decode_cursor(query.cursor, table, (int, str))
            where.append("(ts_us < ? OR (ts_us = ? AND id < ?))")
            params.extend([ts_us, ts_us, last_id])
        sql = f"SELECT ts_us, id, payload FROM {table}"  # noqa: S608 (table and columns are ours)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY ts_us DESC, id DESC LIMIT ?"
        params.append(query.limit + 1)
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        items = [model.model_validate_json(payload) for _, _, payload in rows]
        next_cursor = encode_cursor(table, [rows[-1][0], rows[-1][1]]) if more else None
        return Page(items=items, next_cursor=next_cursor)

    async def list_signals(self, query: HistoryQuery) -> Page[Signal]:
        return await self._list("signals", Signal, query, "rule", query.rule)

    async def list_executions(self, query: HistoryQuery) -> Page[Execution]:
        return await self._list("executions", Execution, query, "order_ref", query.order_ref)

    async def list_order_updates(self, query: HistoryQuery) -> Page[OrderUpdate]:
        return await self._list("order_updates", OrderUpdate, query, "order_ref", query.order_ref)

    async def all_executions(self, strategy: str | None = None) -> list[Execution]:
        sql = "SELECT payload FROM executions"
        params: list[str] = []
        if strategy is not None:
            sql += " WHERE strategy = ?"
            params.append(strategy)
        sql += " ORDER BY ts_us ASC, id ASC"
        rows = await self._run(lambda conn: conn.execute(sql, params).fetchall())
        return [Execution.model_validate_json(payload) for (payload,) in rows]
