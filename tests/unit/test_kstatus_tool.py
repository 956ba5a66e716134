"""The kstatus command (cli-utils' status.Compute, built from its Go module) on objects of known shape."""

from __future__ import annotations

from typing import Any

from spyops.toolchain.kstatus import compute


def _strategy(generation: int, observed: int, conditions: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "TradingStrategy",
        "metadata": {"name": "s", "namespace": "n", "generation": generation},
        "status": {"observedGeneration": observed, "conditions": conditions},
    }


def _triplet(ready: str, reconciling: str, stalled: str) -> list[dict[str, str]]:
    return [
        {"type": "Ready", "status": ready, "reason": "R", "message": "m"},
        {"type": "Reconciling", "status": reconciling, "reason": "R", "message": "m"},
        {"type": "Stalled", "status": stalled, "reason": "R", "message": "stalled because"},
    ]


def test_verdicts_of_the_conditions_the_operator_writes() -> None:
    listing: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            _strategy(2, 2, _triplet("True", "False", "False")),
            _strategy(2, 2, _triplet("False", "True", "False")),
            _strategy(2, 2, _triplet("False", "False", "True")),
            _strategy(3, 2, _triplet("True", "False", "False")),
        ],
    }
    verdicts = [v.status for v in compute(listing)]
    assert verdicts == ["Current", "InProgress", "Failed", "InProgress"]
    assert compute(listing["items"][2])[0].message == "stalled because"
