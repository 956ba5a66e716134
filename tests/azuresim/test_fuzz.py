"""Fuzzing the simulator's inputs: any timeline text and any control body get a clear error or work."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from spyops.azuresim.commands import ControlCommand
from spyops.azuresim.scenario import ScenarioError, parse_scenario
from spyops.azuresim.state import LinkSimulation, SimConfig
from tests.validation_errors import assert_error_points_at_input

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
command_keys = st.sampled_from(
    ["connection", "gateway", "fault", "resetBehavior", "clearFaults", "at", "status"]
)
command_like = st.dictionaries(command_keys, json_values, max_size=4)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_any_timeline_text_parses_or_says_why(text: str) -> None:
    try:
        parse_scenario(text, "fuzz.yaml")
    except ScenarioError as exc:
        message = str(exc)
    else:
        return
    assert message.startswith("fuzz.yaml")


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.just("steps"), st.lists(command_like, max_size=4)))
def test_structured_timelines_parse_or_name_the_field(data: dict[str, Any]) -> None:
    try:
        scenario = parse_scenario(json.dumps(data), "fuzz.json")
    except ScenarioError as exc:
        message = str(exc)
        assert_invalid = True
    else:
        assert_invalid = False
    if assert_invalid:
        assert "invalid scenario" in message
        return
    sim = LinkSimulation(SimConfig(), clock=lambda: 0.0)
    sim.start_scenario(scenario)  # valid steps apply without error
    sim.snapshot()


@settings(max_examples=100, deadline=None)
@given(command_like)
def test_control_commands_validate_or_apply(body: dict[str, Any]) -> None:
    try:
        command = ControlCommand.model_validate(body)
    except ValidationError as exc:
        problems = exc.errors()
    else:
        problems = []
    if problems:
        for problem in problems:
            assert_error_points_at_input(body, problem)
        return
    sim = LinkSimulation(SimConfig())
    sim.apply(command)
    json.dumps(sim.snapshot())
