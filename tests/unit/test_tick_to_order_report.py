"""`spyops bench tick-to-order` reports its numbers next to a floor measured in the same run; the seed
design's 350 + 95 ms stay a labelled quotation that no number is derived from."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spyops.bench import tick_to_order
from spyops.gatewaysim.server import GatewayServer, ServerSettings
from tests.gatewaysim.chain_source import ScriptedChain


def summary(p50: float, p99: float) -> dict[str, float]:
    return {"p50_ms": p50, "p99_ms": p99, "mean_ms": p50, "max_ms": p99}


def report() -> dict[str, Any]:
    return tick_to_order.build_report(
        samples=40,
        missed=2,
        tick_to_order=summary(9.0, 18.0),
        tick_to_signal=summary(5.0, 10.0),
        signal_to_order=summary(4.0, 8.0),
        bot_own_time={},
        round_trip=summary(0.5, 1.5),
        fsync=summary(2.5, 4.5),
        journal_commit=summary(3.0, 6.0),
        load_average=(1.5, 1.2, 1.0),
        cpus=2,
    )


def numbers(value: Any, path: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, f"{path}.{key}")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, float(value)


def test_the_floor_is_the_round_trip_plus_one_fsync_and_ratios_use_it() -> None:
    result = report()
    floor = result["baseline_floor_same_run"]
    assert (floor["p50_ms"], floor["p99_ms"]) == (3.0, 6.0)
    assert result["tick_to_order_over_floor"] == {"p50": 3.0, "p99": 3.0}
    assert result["machine_load_average"] == {"1m": 1.5, "5m": 1.2, "15m": 1.0}


def test_the_seed_figures_are_a_labelled_quotation_nothing_is_computed_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = report()
    quoted = first.pop("quotation_seed_design_not_measured")
    assert (quoted["signal_ms"], quoted["execution_ms"]) == (350.0, 95.0)
    assert "not measured" in quoted["note"]
    monkeypatch.setattr(tick_to_order, "SEED_SIGNAL_MS", 1.0)
    monkeypatch.setattr(tick_to_order, "SEED_EXECUTION_MS", 1.0)
    second = report()
    second.pop("quotation_seed_design_not_measured")
    assert dict(numbers(first)) == dict(numbers(second))  # no other number depends on the quotation
    assert not [path for path, _ in numbers(first) if "seed" in path or "speedup" in path]


async def test_the_round_trip_baseline_runs_through_the_simulator(tmp_path: Path) -> None:
    server = GatewayServer(ScriptedChain(), settings=ServerSettings(port=0, control_port=0))
    await server.start()
    try:
        # More requests than IB allows in one second: they must be paced, not refused.
        measured = await tick_to_order._round_trip_baseline(server.port, samples=60)
    finally:
        await server.stop()
    assert 0 < measured["p50_ms"] <= measured["p99_ms"] < 1000
    fsync = tick_to_order._fsync_baseline(tmp_path, writes=5)
    assert fsync["p50_ms"] > 0
