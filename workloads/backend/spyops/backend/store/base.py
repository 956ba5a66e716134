"""The store interface the API talks to, whatever holds the data (SQLite or Azure Table Storage).

Every write is idempotent by record id: storing a record whose id is already
present is a no-op reported as a duplicate (the first write wins), so the edge's
outbox can replay freely. One exception, a fill's commission report (see
:func:`commission_update`): IB reports a fill first and its commission a moment
later, and the bot sends the fill again with it. Reads return pages newest first with an opaque cursor
that only the store that issued it understands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from spyops.schemas import ChainSnapshot, Execution, OrderUpdate, Signal

Record = TypeVar("Record", Signal, Execution, OrderUpdate)

MAX_PAGE_SIZE = 500


class StoreError(Exception):
    """The store failed; the message says what and where (never a credential)."""


class InvalidCursorError(ValueError):
    """A pagination cursor this store did not issue, or that was altered."""


class StoreLimitError(ValueError):
    """A record breaks a limit of the storage service (key characters, sizes, batch rules)."""


@dataclass(frozen=True)
class HistoryQuery:
    """Filters shared by every history read. ``since`` is inclusive, ``until`` exclusive."""

    strategy: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    rule: str | None = None  # signals only
    order_ref: str | None = None  # executions and order updates only
    limit: int = 100
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {self.limit}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must carry a timezone")


@dataclass(frozen=True)
class Page(Generic[Record]):
    items: list[Record]
    next_cursor: str | None


@dataclass(frozen=True)
class WriteResult:
    """What one (batched) write did: ids newly stored and ids that were already there, in input order."""

    stored: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # executions whose commission was reported


class Store(Protocol):
    """What the API needs from storage. Implementations: SqliteStore, TableStore."""

    description: str  # for logs and /ready; never contains a credential

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise StoreError when the store cannot serve requests now."""

    async def put_signals(self, signals: Sequence[Signal]) -> WriteResult: ...

    async def put_executions(self, executions: Sequence[Execution]) -> WriteResult: ...

    async def put_order_updates(self, updates: Sequence[OrderUpdate]) -> WriteResult: ...

    async def put_chain(self, snapshot: ChainSnapshot) -> None:
        """Keep ``snapshot`` as the latest for its underlying unless a newer one is stored."""

    async def latest_chain(self, underlying: str) -> ChainSnapshot | None: ...

    async def list_signals(self, query: HistoryQuery) -> Page[Signal]: ...

    async def list_executions(self, query: HistoryQuery) -> Page[Execution]: ...

    async def list_order_updates(self, query: HistoryQuery) -> Page[OrderUpdate]: ...

    async def all_executions(self, strategy: str | None = None) -> list[Execution]:
        """Every execution (of one strategy, or all), oldest first: the input of the ledger."""


def record_time(record: Signal | Execution | OrderUpdate) -> dt.datetime:
    """The time a record is ordered and filtered by."""
    if isinstance(record, Signal):
        return record.event_time
    return record.time


def unique_by_id(records: Sequence[Record]) -> tuple[list[Record], list[str]]:
    """Split a batch into first occurrences and repeated ids (a batch may repeat itself on replay)."""
    seen: set[str] = set()
    first: list[Record] = []
    repeated: list[str] = []
    for record in records:
        if record.id in seen:
            repeated.append(record.id)
        else:
            seen.add(record.id)
            first.append(record)
    return first, repeated


def commission_update(stored: Execution, incoming: Execution) -> Execution | None:
    """The execution to store instead of ``stored`` when ``incoming`` reports its commission.

    That is the same fill (every other field equal) with a different, non-zero commission. A zero
    never replaces a reported commission: it is the fill as first reported, replayed late. Anything
    else with a known id stays a duplicate (the first write wins)."""
    if incoming.commission == 0 or incoming.commission == stored.commission:
        return None
    if incoming.model_copy(update={"commission": stored.commission}) != stored:
        return None
    return incoming
