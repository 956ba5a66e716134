"""The invariants every pod-life scenario ends with, and the numbers it reports (pure: plain data in).

- no order twice: the gateway holds at most one order per orderRef (orderRef = strategy, signal, leg);
- journal and gateway agree: every order at the gateway is in some replica's journal (written before
  it is sent), and every journaled order that left a replica is at the gateway (not an intent, nor an
  intent closed as never sent);
- nothing missing at the backend: every execution at the gateway and every signal a bot decided on
  reached the backend (through the outboxes), once it is reachable.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Journal statuses of orders that never left the replica: an intent written before a crash or a SIGTERM,
# which the replica that adopts the journal closes as CANCELLED "never sent" at reconciliation.
UNSENT = frozenset({"INTENDED", "NEVER_SENT"})


def journal_status(status: str, reason: str) -> str:
    """The journal's status, with a closed-but-never-sent intent told apart from a cancelled order."""
    return "NEVER_SENT" if status == "CANCELLED" and reason.startswith("never sent") else status


@dataclass(frozen=True)
class JournalView:
    """What the bots' journals (all slots) hold."""

    orders: dict[str, str]  # orderRef -> status
    decisions: dict[str, set[str]]  # signal id -> decisions (TRADED, ADOPTED, SKIPPED, DENIED)


@dataclass(frozen=True)
class Verdict:
    duplicated_orders: dict[str, int] = field(default_factory=dict)  # orderRef -> orders at the gateway
    not_journaled: list[str] = field(default_factory=list)  # at the gateway, in no journal
    journaled_not_at_gateway: list[str] = field(default_factory=list)  # sent per journal, unknown there
    executions_missing_at_backend: list[str] = field(default_factory=list)
    signals_missing_at_backend: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = []
        for name in (
            "duplicated_orders",
            "not_journaled",
            "journaled_not_at_gateway",
            "executions_missing_at_backend",
            "signals_missing_at_backend",
        ):
            value = getattr(self, name)
            if value:
                shown = sorted(value)[:5] if not isinstance(value, dict) else dict(list(value.items())[:5])
                out.append(f"{name}: {len(value)} ({shown})")
        return out


def merge_journals(views: Iterable[JournalView]) -> JournalView:
    orders: dict[str, str] = {}
    decisions: dict[str, set[str]] = {}
    for view in views:
        for ref, status in view.orders.items():
            # Any replica's view past INTENDED wins: the order was sent by the one that wrote it.
            if orders.get(ref) is None or orders[ref] in UNSENT:
                orders[ref] = status
        for signal, found in view.decisions.items():
            decisions.setdefault(signal, set()).update(found)
    return JournalView(orders, decisions)


def _refs(orders: Sequence[dict[str, Any]]) -> Counter[str]:
    return Counter(str(o.get("orderRef") or "") for o in orders if o.get("orderRef"))


def judge(
    gateway_orders: Sequence[dict[str, Any]],
    gateway_executions: Sequence[dict[str, Any]],
    journal: JournalView,
    backend_execution_ids: set[str] | None,
    backend_signal_ids: set[str] | None,
    *,
    gateway_orders_after: Sequence[dict[str, Any]],
) -> Verdict:
    """The end-of-scenario checks; the backend ones are skipped only when ``None`` is passed.

    Trading goes on while the checks read, so the gateway is read twice: ``gateway_orders`` before
    the journals (an order at the gateway then was journaled before it was sent) and
    ``gateway_orders_after`` after them (an order a journal then says was sent has reached the
    gateway by then). One read would count an order placed between the reads as lost.
    """
    before = _refs(gateway_orders)
    after = _refs(gateway_orders_after)
    return Verdict(
        duplicated_orders={ref: n for ref, n in (before | after).items() if n > 1},
        not_journaled=sorted(set(before) - set(journal.orders)),
        journaled_not_at_gateway=sorted(
            ref for ref, status in journal.orders.items() if status not in UNSENT and ref not in after
        ),
        executions_missing_at_backend=(
            []
            if backend_execution_ids is None
            else sorted({str(e["execId"]) for e in gateway_executions} - backend_execution_ids)
        ),
        signals_missing_at_backend=(
            [] if backend_signal_ids is None else sorted(set(journal.decisions) - backend_signal_ids)
        ),
    )


def undecided_between(
    signals: Iterable[dict[str, Any]], journal: JournalView, start: float, end: float
) -> list[str]:
    """Ids of the signals detected in [start, end] (unix seconds) that no bot decided on."""
    out = []
    for signal in signals:
        detected = dt.datetime.fromisoformat(str(signal["detected_at"]).replace("Z", "+00:00")).timestamp()
        if start <= detected <= end and str(signal["id"]) not in journal.decisions:
            out.append(str(signal["id"]))
    return sorted(out)


def longest_gap(samples: Sequence[tuple[float, bool]]) -> tuple[float, float, float]:
    """(seconds, start, end) of the longest run of samples (time, has_leader) without a leader, from the
    last sample with a leader before it to the first one after it (so it is never under-counted)."""
    best = (0.0, 0.0, 0.0)
    start: float | None = None
    last_led: float | None = None
    for t, led in samples:
        if led:
            if start is not None and t - start > best[0]:
                best = (t - start, start, t)
            start = None
            last_led = t
        elif start is None:
            start = last_led if last_led is not None else t
    if start is not None and samples and samples[-1][0] - start > best[0]:
        best = (samples[-1][0] - start, start, samples[-1][0])
    return best


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
