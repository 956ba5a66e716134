"""Deterministic order references."""

from __future__ import annotations

import pytest

from spyops.bot import order_refs

SIGNAL = "0123456789abcdef0123456789abcdef"


def test_same_inputs_same_ref_and_legs_differ() -> None:
    refs = [order_refs.order_ref("demo/spy-0dte", SIGNAL, leg) for leg in range(3)]
    assert refs == [order_refs.order_ref("demo/spy-0dte", SIGNAL, leg) for leg in range(3)]
    assert len(set(refs)) == 3
    assert all(len(ref) <= order_refs.MAX_LEN for ref in refs)
    assert all(":" not in ref for ref in refs)


def test_strategies_get_different_refs_for_the_same_signal() -> None:
    assert order_refs.order_ref("a/one", SIGNAL, 0) != order_refs.order_ref("a/two", SIGNAL, 0)


def test_parse_round_trips_and_strips_the_execution_suffix() -> None:
    ref = order_refs.order_ref("demo/spy-0dte", SIGNAL, 2)
    for seen in (ref, f"{ref}:1", f"{ref}:17"):
        parsed = order_refs.parse(seen)
        assert parsed is not None
        assert (parsed.signal_id, parsed.leg) == (SIGNAL, 2)
        assert order_refs.normalize(seen) == ref
        assert order_refs.belongs_to(seen, "demo/spy-0dte")
        assert not order_refs.belongs_to(seen, "demo/other")


@pytest.mark.parametrize(
    "ref", ["", "manual order", "abcde-123-0", f"zzzzz-{SIGNAL}-0", f"abcde-{SIGNAL}-10"]
)
def test_foreign_refs_are_not_ours(ref: str) -> None:
    assert order_refs.parse(ref) is None


@pytest.mark.parametrize(("signal_id", "leg"), [("XYZ", 0), (SIGNAL.upper(), 0), (SIGNAL, 10), (SIGNAL, -1)])
def test_bad_inputs_are_refused(signal_id: str, leg: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        order_refs.order_ref("demo/x", signal_id, leg)
