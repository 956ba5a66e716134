"""The pod-life invariants and numbers, on plain data (no cluster)."""

from __future__ import annotations

from spyops.cluster.node.podlife_checks import (
    JournalView,
    journal_status,
    judge,
    longest_gap,
    merge_journals,
    percentile,
    undecided_between,
)


def _orders(*refs: str) -> list[dict[str, object]]:
    return [{"orderRef": ref, "permId": i} for i, ref in enumerate(refs)]


def test_a_clean_window_has_no_problems() -> None:
    journal = merge_journals(
        [
            JournalView({"a": "FILLED"}, {"s1": {"TRADED"}}),
            JournalView({"a": "INTENDED", "b": "SUBMITTED"}, {"s1": {"ADOPTED"}, "s2": {"TRADED"}}),
        ]
    )
    assert journal.orders == {"a": "FILLED", "b": "SUBMITTED"}
    verdict = judge(
        _orders("a", "b"),
        [{"execId": "e1"}],
        journal,
        {"e1"},
        {"s1", "s2"},
        gateway_orders_after=_orders("a", "b"),
    )
    assert verdict.problems == []


def test_each_broken_invariant_is_named() -> None:
    never_sent = journal_status("CANCELLED", "never sent: the process stopped before sending")
    assert journal_status("CANCELLED", "") == "CANCELLED"
    journal = JournalView(
        {"a": "FILLED", "c": "SUBMITTED", "d": "INTENDED", "e": never_sent, "f": "REJECTED"},
        {"s1": {"TRADED"}},
    )
    gateway = _orders("a", "a", "b")
    verdict = judge(
        gateway, [{"execId": "e1"}, {"execId": "e2"}], journal, {"e1"}, set(), gateway_orders_after=gateway
    )
    assert verdict.duplicated_orders == {"a": 2}
    assert verdict.not_journaled == ["b"]
    assert verdict.journaled_not_at_gateway == ["c", "f"]  # intents never sent are allowed
    assert verdict.executions_missing_at_backend == ["e2"]
    assert verdict.signals_missing_at_backend == ["s1"]
    assert len(verdict.problems) == 5
    unchecked = judge(
        _orders("a"),
        [{"execId": "e2"}],
        JournalView({"a": "FILLED"}, {}),
        None,
        None,
        gateway_orders_after=_orders("a"),
    )
    assert unchecked.problems == []


def test_trading_between_the_reads_is_not_a_disagreement() -> None:
    # "b" was journaled and sent after the first read of the gateway and before the journals were read;
    # "c" was placed after the journals were read. Neither is lost nor unjournaled.
    journal = JournalView({"a": "FILLED", "b": "SUBMITTED"}, {})
    verdict = judge(_orders("a"), [], journal, None, None, gateway_orders_after=_orders("a", "b", "c"))
    assert verdict.problems == []
    # Missing from both reads, a journaled order is lost; unjournaled at the first read, it was never journaled.
    lost = judge(_orders("a", "x"), [], journal, None, None, gateway_orders_after=_orders("a", "x"))
    assert lost.journaled_not_at_gateway == ["b"]
    assert lost.not_journaled == ["x"]
    # An order twice at the gateway in either read is a duplicate.
    twice = judge(_orders("a"), [], journal, None, None, gateway_orders_after=_orders("a", "a", "b"))
    assert twice.duplicated_orders == {"a": 2}


def test_longest_gap_counts_from_the_last_sample_with_a_leader() -> None:
    samples = [(0.0, True), (1.0, False), (2.0, False), (3.0, True), (4.0, False), (4.5, True)]
    assert longest_gap(samples) == (3.0, 0.0, 3.0)
    assert longest_gap([(0.0, True), (1.0, True)]) == (0.0, 0.0, 0.0)
    assert longest_gap([(0.0, True), (5.0, False)]) == (5.0, 0.0, 5.0)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([1.0, 9.0], 99) == 9.0


def test_undecided_signals_in_a_window() -> None:
    signals = [
        {"id": "a", "detected_at": "2026-12-06T12:00:01Z"},
        {"id": "b", "detected_at": "2026-12-06T12:00:02+00:00"},
        {"id": "c", "detected_at": "2026-12-06T12:00:09Z"},
    ]
    start = 1796558400.0  # 2026-12-06T12:00:00Z
    journal = JournalView({}, {"a": {"TRADED"}})
    assert undecided_between(signals, journal, start, start + 5) == ["b"]
