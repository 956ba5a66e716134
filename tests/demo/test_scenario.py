"""Scenario files: what plays, and what is refused with the line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyops.demo.scenario import ScenarioError, load_scenario, parse_duration, parse_scenario

REPO = Path(__file__).resolve().parents[2]


def test_shipped_example_scenario_parses_in_time_order() -> None:
    scenario = load_scenario(REPO / "examples" / "demo-scenario.yaml")
    times = [s.at_seconds for s in scenario.steps]
    assert times == sorted(times)
    assert {s.action for s in scenario.steps} >= {
        "inject",
        "link-down",
        "link-up",
        "gateway-restart",
        "kill-switch",
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(30, 30.0), ("30", 30.0), ("30s", 30.0), ("2m", 120.0), ("500ms", 0.5), ("1.5m", 90.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "-3s", "3 days", True])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_steps_are_sorted_stably_and_keep_their_fields() -> None:
    scenario = parse_scenario(
        "steps:\n"
        "  - {at: 60s, do: link-down}\n"
        "  - {at: 30s, do: inject, kind: butterfly, strike: 590, right: P}\n"
        "  - {at: 60s, do: kill-switch, state: HALTED}\n"
    )
    assert [(s.at_seconds, s.action) for s in scenario.steps] == [
        (30.0, "inject"),
        (60.0, "link-down"),
        (60.0, "kill-switch"),
    ]
    assert scenario.steps[0].params == {"kind": "butterfly", "strike": 590, "right": "P"}
    assert scenario.steps[0].line == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps:\n  - {at: 1s, do: explode}\n", r"<scenario>:2: step 1: do: unknown action 'explode'"),
        ("steps:\n  - {do: link-up}\n", r":2: step 1: 'at' is required"),
        ("steps:\n  - {at: 1s}\n", r"'do' is required"),
        ("steps:\n  - {at: 1s, do: inject}\n", r"inject needs 'kind'"),
        ("steps:\n  - {at: 1s, do: inject, kind: magic}\n", r"kind: 'magic' is not one of"),
        ("steps:\n  - {at: 1s, do: inject, kind: parity, right: X}\n", r"right must be C or P"),
        ("steps:\n  - {at: 1s, do: kill-switch, state: STOPPED}\n", r"state: 'STOPPED' is not one of"),
        (
            "steps:\n  - {at: 1s, do: link-down, hard: true}\n",
            r"unknown field 'hard' for link-down \(it takes no fields\)",
        ),
        (
            "steps:\n  - {at: 1s, do: gateway-restart, downtime_seconds: soon}\n",
            r"downtime_seconds must be int or float",
        ),
        ("steps:\n\n\n  - {at: later, do: link-up}\n", r":4: step 1: at: not a duration"),
        ("steps: []\n", r"'steps' must be a non-empty list"),
        ("step: []\n", r"unknown top-level field"),
        ("steps: [\n", r"not valid YAML"),
        ("- 1\n", r"expected a mapping"),
    ],
)
def test_bad_scenarios_name_line_and_field(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"cannot read scenario .*nope\.yaml"):
        load_scenario(tmp_path / "nope.yaml")
