"""Fuzzing the VpnLink model and the pure policy: bad specs are refused with a field, never a crash;
the policy never plans a reset inside the cooldown or beyond the hourly cap."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from spyops.operator.vpnlink.failover import HOUR, RESETS, begin_action, decide, finish_action
from spyops.operator.vpnlink.health import CheckOutcome, HealthState, Thresholds, advance
from spyops.operator.vpnlink.model import (
    ActionRecord,
    ActionResult,
    FailoverPolicy,
    LinkHealth,
    OutboundState,
    VpnLinkSpec,
    VpnLinkStatus,
)
from tests.validation_errors import assert_error_points_at_input

T0 = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)

scalars = st.none() | st.booleans() | st.integers(-10, 10**6) | st.text(max_size=20)
spec_like = st.fixed_dictionaries(
    {},
    optional={
        "azure": st.dictionaries(
            st.sampled_from(
                [
                    "subscriptionId",
                    "resourceGroup",
                    "gatewayName",
                    "connectionName",
                    "useManagedIdentity",
                    "endpoint",
                ]
            ),
            scalars,
        ),
        "probes": st.dictionaries(st.sampled_from(["targets", "intervalSeconds", "timeoutSeconds"]), scalars),
        "failover": st.dictionaries(
            st.sampled_from(["failureThreshold", "cooldownSeconds", "maxActionsPerHour", "outboundAction"]),
            scalars,
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(spec_like)
def test_specs_validate_or_name_fields(data: dict[str, Any]) -> None:
    try:
        VpnLinkSpec.model_validate(data)
    except ValidationError as exc:
        problems = exc.errors()
    else:
        return
    for problem in problems:
        assert_error_points_at_input(data, problem)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["health", "consecutiveFailures", "outbound", "actionHistory"]), scalars)
)
def test_status_round_trips_or_is_refused(data: dict[str, Any]) -> None:
    try:
        status = VpnLinkStatus.model_validate(data)
    except ValidationError:
        return
    assert VpnLinkStatus.model_validate(status.model_dump(mode="json", by_alias=True)) == status


outcomes = st.lists(st.sampled_from(list(CheckOutcome)), min_size=1, max_size=60)


@settings(max_examples=100, deadline=None)
@given(
    outcomes,
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(0, 1800),
    st.integers(0, 6),
    st.booleans(),
    st.sampled_from([ActionResult.SUCCEEDED, ActionResult.FAILED, ActionResult.STARTED]),
)
def test_policy_respects_cooldown_and_cap_under_any_sequence(
    checks: list[CheckOutcome],
    failure_threshold: int,
    recovery_threshold: int,
    cooldown: int,
    cap: int,
    reset_gateway: bool,
    reset_result: ActionResult,
) -> None:
    policy = FailoverPolicy(
        failure_threshold=failure_threshold,
        recovery_threshold=recovery_threshold,
        cooldown_seconds=cooldown,
        max_actions_per_hour=cap,
        reset_gateway=reset_gateway,
    )
    thresholds = Thresholds(failure_threshold, recovery_threshold)
    state = HealthState()
    outbound = OutboundState.DIRECT
    history: list[ActionRecord] = []
    now = T0
    for outcome in checks:
        state = advance(state, outcome, thresholds, now)
        for _ in range(6):
            decision = decide(state, outbound, policy, history, now)
            if decision.action is None:
                break
            history, started = begin_action(history, decision.action, now)
            result = reset_result if decision.action.action in RESETS else ActionResult.SUCCEEDED
            history, _ = finish_action(history, started, result, "")
            if decision.action.action.value in ("SwitchOutbound", "RestoreOutbound"):
                outbound = OutboundState(decision.action.target)
        if state.health is not LinkHealth.DOWN:
            assert outbound is OutboundState.DIRECT
        now += dt.timedelta(seconds=97)
    resets = sorted(r.time for r in history if r.action in RESETS)
    for earlier, later in itertools.pairwise(resets):
        assert later - earlier >= dt.timedelta(seconds=cooldown)
    for i, t in enumerate(resets):
        assert sum(1 for u in resets[: i + 1] if t - u < HOUR) <= cap
    if failure_threshold > len(checks):
        assert resets == []
