"""SQLite store of pending outbox items, in one global sequence."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# kind -> backend path the items of that kind are posted to. Chain snapshots are
# not queued: only the latest one matters, so the detector posts it directly.
ITEM_KINDS: dict[str, str] = {
    "signal": "/v1/signals",
    "execution": "/v1/executions",
    "order": "/v1/orders",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (kind, item_id)
);
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    failed_at REAL NOT NULL,
    reason TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    kind: str
    item_id: str
    payload: str  # JSON text of one object
    created_at: float  # unix seconds
    attempts: int
    traceparent: str = ""  # W3C trace context of the span that enqueued it ("" when not traced)
    attempt_traceparent: str = ""  # the span of the last send attempt, which a retry links to


class OutboxError(ValueError):
    """An item cannot be enqueued (unknown kind, no id, not JSON); names what was wrong."""


class OutboxStore:
    """One SQLite file; safe to share between the event loop and worker threads of one process."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit is on disk before enqueue returns, also across power loss.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            self._add_trace_columns()

    def _add_trace_columns(self) -> None:
        # Outboxes written before tracing existed (kept on a volume) get the columns in place.
        have = {row[1] for row in self._db.execute("PRAGMA table_info(outbox)")}
        for column in ("traceparent", "attempt_traceparent"):
            if column not in have:
                self._db.execute(f"ALTER TABLE outbox ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- producers ----------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        item: BaseModel | Mapping[str, Any],
        item_id: str | None = None,
        traceparent: str | None = None,
    ) -> int | None:
        """Store one item durably; return its sequence, or None if this (kind, id) is already pending.

        ``traceparent`` is the trace the item belongs to: its sends continue that trace.
        """
        if kind not in ITEM_KINDS:
            raise OutboxError(f"unknown outbox kind {kind!r}; expected one of {sorted(ITEM_KINDS)}")
        if isinstance(item, BaseModel):
            payload = item.model_dump_json()
            data_id = getattr(item, "id", None)
        else:
            try:
                payload = json.dumps(item, separators=(",", ":"), allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise OutboxError(f"{kind} item is not JSON-serialisable: {exc}") from exc
            data_id = item.get("id")
        ident = item_id if item_id is not None else data_id
        if not isinstance(ident, str) or not ident:
            raise OutboxError(f"{kind} item has no string `id` (the backend dedupes by it)")
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO outbox (kind, item_id, payload, created_at, traceparent)"
                " VALUES (?, ?, ?, ?, ?)",
                (kind, ident, payload, time.time(), traceparent or ""),
            )
            return cursor.lastrowid if cursor.rowcount == 1 else None

    async def enqueue_async(
        self,
        kind: str,
        item: BaseModel | Mapping[str, Any],
        item_id: str | None = None,
        traceparent: str | None = None,
    ) -> int | None:
        """:meth:`enqueue` off the event loop (the fsync can take milliseconds)."""
        return await asyncio.to_thread(self.enqueue, kind, item, item_id, traceparent)

    # -- sender -------------------------------------------------------------------------

    def head_batch(self, limit: int) -> list[OutboxItem]:
        """The oldest items, all of the head item's kind, up to the first item of another kind."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, item_id, payload, created_at, attempts, traceparent, attempt_traceparent"
                " FROM outbox ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        batch: list[OutboxItem] = []
        for row in rows:
            item = OutboxItem(*row)
            if batch and item.kind != batch[0].kind:
                break
            batch.append(item)
        return batch

    def _in_transaction(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        # One transaction (one fsync) per batch, not one per row.
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def acknowledge(self, items: Sequence[OutboxItem]) -> None:
        self._in_transaction("DELETE FROM outbox WHERE seq = ?", [(i.seq,) for i in items])

    def record_attempt(
        self, items: Sequence[OutboxItem], attempt_traceparents: Sequence[str | None] | None = None
    ) -> None:
        """Count an attempt; ``attempt_traceparents`` (one per item) are its spans, which the next
        attempt links to (an item without one keeps its last)."""
        spans = list(attempt_traceparents or [])
        spans += [None] * (len(items) - len(spans))
        self._in_transaction(
            "UPDATE outbox SET attempts = attempts + 1,"
            " attempt_traceparent = CASE WHEN ? = '' THEN attempt_traceparent ELSE ? END WHERE seq = ?",
            [(span or "", span or "", i.seq) for i, span in zip(items, spans, strict=True)],
        )

    def dead_letter(self, item: OutboxItem, reason: str) -> None:
        """Move an item the backend refuses as invalid aside, so it stops blocking the queue."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO dead_letters"
                    " (seq, kind, item_id, payload, created_at, failed_at, reason)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        item.seq,
                        item.kind,
                        item.item_id,
                        item.payload,
                        item.created_at,
                        time.time(),
                        reason[:500],
                    ),
                )
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (item.seq,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- views --------------------------------------------------------------------------

    def pending_count(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT kind, COUNT(*) FROM outbox GROUP BY kind").fetchall()
        return {kind: int(n) for kind, n in rows}

    def oldest_created_at(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(created_at) FROM outbox").fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def dead_letters(self) -> list[tuple[int, str, str, str]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, item_id, reason FROM dead_letters ORDER BY seq"
            ).fetchall()
        return [(int(s), str(k), str(i), str(r)) for s, k, i, r in rows]
