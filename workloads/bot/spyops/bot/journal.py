"""The order journal: SQLite (WAL, synchronous=FULL) on the pod's volume.

What it guarantees:
- A signal is *decided* once. :meth:`Journal.claim_signal` writes the signal's decision
  and, when it is to be traded, every leg's order intent in one transaction, committed
  (fsynced) before anything is sent. A second claim of the same signal id returns
  False, so no signal is ever sent twice by this replica, across crashes and restarts.
- Gateway reports (open orders, statuses, completed orders, executions) are applied
  as idempotent upserts keyed by orderRef and execId, whichever order they come in.
- Orders another replica placed (found at the gateway during reconciliation) are
  adopted: their signal is marked decided here too, so this replica never trades it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from spyops.schemas import OptionContract, OrderSide, OrderStatus

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signals (
    signal_id   TEXT PRIMARY KEY,
    decision    TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    decided_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    order_ref       TEXT PRIMARY KEY,
    signal_id       TEXT NOT NULL,
    leg             INTEGER NOT NULL,
    contract        TEXT NOT NULL,
    side            TEXT NOT NULL,
    quantity        INTEGER NOT NULL,
    limit_price     REAL NOT NULL,
    status          TEXT NOT NULL,
    client_id       INTEGER,
    order_id        INTEGER,
    perm_id         INTEGER,
    filled          INTEGER NOT NULL DEFAULT 0,
    avg_fill_price  REAL NOT NULL DEFAULT 0,
    reason          TEXT NOT NULL DEFAULT '',
    created_at      REAL NOT NULL,
    sent_at         REAL,
    updated_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_signal ON orders (signal_id);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status);
CREATE INDEX IF NOT EXISTS orders_by_sent_at ON orders (sent_at);
CREATE TABLE IF NOT EXISTS executions (
    exec_id     TEXT PRIMARY KEY,
    order_ref   TEXT NOT NULL,
    contract    TEXT NOT NULL,
    side        TEXT NOT NULL,
    quantity    INTEGER NOT NULL,
    price       REAL NOT NULL,
    commission  REAL NOT NULL DEFAULT 0,
    time        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS executions_by_ref ON executions (order_ref);
"""

OPEN_STATUSES = (OrderStatus.INTENDED, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)
FINAL_STATUSES = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class SignalDecision(StrEnum):
    TRADED = "TRADED"  # intents written; orders sent (or about to be)
    DENIED = "DENIED"  # refused by the risk engine
    SKIPPED = "SKIPPED"  # arrived while this replica was not allowed to trade
    ADOPTED = "ADOPTED"  # another replica's orders for it were found at the gateway


class JournalError(RuntimeError):
    """The journal file cannot be used; the message says which file and why."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    order_ref: str
    signal_id: str
    leg: int
    contract: OptionContract
    side: OrderSide
    quantity: int
    limit_price: float
    client_id: int | None = None  # the order id is reserved before the intent is written
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class JournalOrder:
    order_ref: str
    signal_id: str
    leg: int
    contract: OptionContract
    side: OrderSide
    quantity: int
    limit_price: float
    status: OrderStatus
    client_id: int | None
    order_id: int | None
    perm_id: int | None
    filled: int
    avg_fill_price: float
    reason: str
    created_at: float
    sent_at: float | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class JournalExecution:
    exec_id: str
    order_ref: str
    contract: OptionContract
    side: OrderSide
    quantity: int
    price: float
    commission: float
    time: dt.datetime


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE).
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # Intents commit with synchronous=FULL (they survive power loss); see _transaction.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) != SCHEMA_VERSION:
                raise JournalError(
                    f"{path}: journal schema version {row[0]}, this bot needs {SCHEMA_VERSION}"
                )
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot open order journal {path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    # signals -----------------------------------------------------------------------
    def signal_decision(self, signal_id: str) -> SignalDecision | None:
        row = self._db.execute("SELECT decision FROM signals WHERE signal_id=?", (signal_id,)).fetchone()
        return None if row is None else SignalDecision(row[0])

    def claim_signal(
        self,
        signal_id: str,
        decision: SignalDecision,
        intents: Sequence[OrderIntent] = (),
        reason: str = "",
    ) -> bool:
        """Record the one decision for ``signal_id`` (with its intents); False if already decided.

        With intents, returns only after the transaction is durable (fsynced), so a caller that got
        True may send. A decision without intents (denied, skipped) is not worth an fsync: if a
        power loss took it, the signal would merely be decided again.
        """
        now = time.time()
        with self._transaction(durable=bool(intents)):
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO signals (signal_id, decision, reason, decided_at) VALUES (?,?,?,?)",
                (signal_id, decision.value, reason, now),
            ).rowcount
            if not inserted:
                return False
            for intent in intents:
                self._db.execute(
                    "INSERT INTO orders (order_ref, signal_id, leg, contract, side, quantity, limit_price,"
                    " status, client_id, order_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        intent.order_ref,
                        intent.signal_id,
                        intent.leg,
                        intent.contract.model_dump_json(),
                        intent.side.value,
                        intent.quantity,
                        intent.limit_price,
                        OrderStatus.INTENDED.value,
                        intent.client_id,
                        intent.order_id,
                        now,
                        now,
                    ),
                )
        return True

    # orders ------------------------------------------------------------------------
    def mark_sent(self, order_ref: str, client_id: int, order_id: int) -> None:
        now = time.time()
        with self._transaction():
            self._db.execute(
                "UPDATE orders SET status=CASE WHEN status=? THEN ? ELSE status END, client_id=?,"
                " order_id=?, sent_at=?, updated_at=? WHERE order_ref=?",
                (
                    OrderStatus.INTENDED.value,
                    OrderStatus.SUBMITTED.value,
                    client_id,
                    order_id,
                    now,
                    now,
                    order_ref,
                ),
            )

    def update_from_gateway(
        self,
        order_ref: str,
        *,
        status: OrderStatus,
        filled: int,
        avg_fill_price: float,
        client_id: int | None = None,
        order_id: int | None = None,
        perm_id: int | None = None,
        reason: str = "",
    ) -> bool:
        """Apply what the gateway says about one of our orders; False if the ref is unknown.

        Final states are sticky and fill counts never go backwards, so reports may
        arrive repeated and out of order.
        """
        now = time.time()
        with self._transaction():
            row = self._db.execute(
                "SELECT status, filled, perm_id FROM orders WHERE order_ref=?", (order_ref,)
            ).fetchone()
            if row is None:
                return False
            current, current_filled, seen_by_gateway = OrderStatus(row[0]), int(row[1]), row[2] is not None
            new_status = status
            # A final state the gateway reported is sticky (late, repeated or out-of-order reports
            # cannot reopen it). A final state we inferred (closed as never sent) yields to the
            # gateway if the order turns up after all.
            if current in FINAL_STATUSES and seen_by_gateway and status not in FINAL_STATUSES:
                new_status = current
            if current is OrderStatus.FILLED:
                new_status = current
            self._db.execute(
                "UPDATE orders SET status=?, filled=?, avg_fill_price=CASE WHEN ? > 0 THEN ? ELSE avg_fill_price END,"
                " client_id=COALESCE(?, client_id), order_id=COALESCE(?, order_id),"
                " perm_id=COALESCE(?, perm_id), reason=CASE WHEN ?<>'' THEN ? ELSE reason END,"
                " sent_at=COALESCE(sent_at, ?), updated_at=? WHERE order_ref=?",
                (
                    new_status.value,
                    max(filled, current_filled),
                    avg_fill_price,
                    avg_fill_price,
                    client_id,
                    order_id,
                    perm_id,
                    reason,
                    reason,
                    now if new_status is not OrderStatus.INTENDED else None,
                    now,
                    order_ref,
                ),
            )
        return True

    def adopt(
        self,
        intent: OrderIntent,
        *,
        status: OrderStatus,
        filled: int,
        avg_fill_price: float,
        client_id: int | None,
        order_id: int | None,
        perm_id: int | None,
    ) -> None:
        """Record an order found at the gateway that this journal did not know (another replica's)."""
        now = time.time()
        with self._transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO signals (signal_id, decision, reason, decided_at) VALUES (?,?,?,?)",
                (intent.signal_id, SignalDecision.ADOPTED.value, "found at the gateway", now),
            )
            self._db.execute(
                "INSERT OR IGNORE INTO orders (order_ref, signal_id, leg, contract, side, quantity,"
                " limit_price, status, client_id, order_id, perm_id, filled, avg_fill_price, reason,"
                " created_at, sent_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    intent.order_ref,
                    intent.signal_id,
                    intent.leg,
                    intent.contract.model_dump_json(),
                    intent.side.value,
                    intent.quantity,
                    intent.limit_price,
                    status.value,
                    client_id,
                    order_id,
                    perm_id,
                    filled,
                    avg_fill_price,
                    "adopted from the gateway",
                    now,
                    now,
                    now,
                ),
            )

    def order(self, order_ref: str) -> JournalOrder | None:
        row = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE order_ref=?",  # noqa: S608 (constant columns)
            (order_ref,),
        ).fetchone()
        return None if row is None else _order(row)

    def orders_for_signal(self, signal_id: str) -> list[JournalOrder]:
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE signal_id=? ORDER BY leg",  # noqa: S608
            (signal_id,),
        ).fetchall()
        return [_order(r) for r in rows]

    def open_orders(self) -> list[JournalOrder]:
        rows = self._db.execute(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE status IN (?,?,?) ORDER BY created_at",  # noqa: S608
            tuple(s.value for s in OPEN_STATUSES),
        ).fetchall()
        return [_order(r) for r in rows]

    def all_orders(self) -> list[JournalOrder]:
        rows = self._db.execute(f"SELECT {_ORDER_COLUMNS} FROM orders ORDER BY created_at").fetchall()  # noqa: S608
        return [_order(r) for r in rows]

    def orders_since(self, since_epoch: float) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM orders WHERE sent_at IS NOT NULL AND sent_at >= ?", (since_epoch,)
        ).fetchone()
        return int(row[0])

    # executions ----------------------------------------------------------------------
    def record_execution(self, execution: JournalExecution) -> bool:
        """Store one fill; False when this execId was already recorded."""
        with self._transaction():
            inserted = self._db.execute(
                "INSERT OR IGNORE INTO executions (exec_id, order_ref, contract, side, quantity, price,"
                " commission, time) VALUES (?,?,?,?,?,?,?,?)",
                (
                    execution.exec_id,
                    execution.order_ref,
                    execution.contract.model_dump_json(),
                    execution.side.value,
                    execution.quantity,
                    execution.price,
                    execution.commission,
                    execution.time.isoformat(),
                ),
            ).rowcount
        return bool(inserted)

    def set_commission(self, exec_id: str, commission: float) -> float | None:
        """Set a fill's commission; returns the previous value (None if the fill is unknown)."""
        with self._transaction():
            row = self._db.execute("SELECT commission FROM executions WHERE exec_id=?", (exec_id,)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE executions SET commission=? WHERE exec_id=?", (commission, exec_id))
        return float(row[0])

    def executions(self) -> list[JournalExecution]:
        rows = self._db.execute(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions ORDER BY time, exec_id"  # noqa: S608 (constant)
        ).fetchall()
        return [_execution(r) for r in rows]

    def execution(self, exec_id: str) -> JournalExecution | None:
        row = self._db.execute(
            f"SELECT {_EXECUTION_COLUMNS} FROM executions WHERE exec_id=?",  # noqa: S608 (constant)
            (exec_id,),
        ).fetchone()
        return None if row is None else _execution(row)

    # internals -----------------------------------------------------------------------
    def _transaction(self, *, durable: bool = False) -> _Transaction:
        """``durable``: fsync at commit (intents). Otherwise the commit survives a process crash
        (it is in the WAL file) but not a power loss; everything written that way is what the
        gateway reports, which reconciliation reads back from the gateway anyway."""
        return _Transaction(self._db, durable)


class _Transaction:
    def __init__(self, db: sqlite3.Connection, durable: bool) -> None:
        self._db = db
        self._durable = durable

    def __enter__(self) -> None:
        self._db.execute(f"PRAGMA synchronous={'FULL' if self._durable else 'NORMAL'}")
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._db.execute("COMMIT" if exc_type is None else "ROLLBACK")


_ORDER_COLUMNS = (
    "order_ref, signal_id, leg, contract, side, quantity, limit_price, status, client_id, order_id,"
    " perm_id, filled, avg_fill_price, reason, created_at, sent_at"
)


def _order(row: tuple[object, ...]) -> JournalOrder:
    return JournalOrder(
        order_ref=str(row[0]),
        signal_id=str(row[1]),
        leg=int(row[2]),  # type: ignore[call-overload]
        contract=OptionContract.model_validate_json(str(row[3])),
        side=OrderSide(str(row[4])),
        quantity=int(row[5]),  # type: ignore[call-overload]
        limit_price=float(row[6]),  # type: ignore[arg-type]
        status=OrderStatus(str(row[7])),
        client_id=None if row[8] is None else int(row[8]),  # type: ignore[call-overload]
        order_id=None if row[9] is None else int(row[9]),  # type: ignore[call-overload]
        perm_id=None if row[10] is None else int(row[10]),  # type: ignore[call-overload]
        filled=int(row[11]),  # type: ignore[call-overload]
        avg_fill_price=float(row[12]),  # type: ignore[arg-type]
        reason=str(row[13]),
        created_at=float(row[14]),  # type: ignore[arg-type]
        sent_at=None if row[15] is None else float(row[15]),  # type: ignore[arg-type]
    )


_EXECUTION_COLUMNS = "exec_id, order_ref, contract, side, quantity, price, commission, time"


def _execution(row: tuple[object, ...]) -> JournalExecution:
    return JournalExecution(
        exec_id=str(row[0]),
        order_ref=str(row[1]),
        contract=OptionContract.model_validate_json(str(row[2])),
        side=OrderSide(str(row[3])),
        quantity=int(row[4]),  # type: ignore[call-overload]
        price=float(row[5]),  # type: ignore[arg-type]
        commission=float(row[6]),  # type: ignore[arg-type]
        time=dt.datetime.fromisoformat(str(row[7])),
    )
