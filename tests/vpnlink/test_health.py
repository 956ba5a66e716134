"""The health state machine: thresholds, hysteresis, partial failures, no evidence."""

from __future__ import annotations

import datetime as dt

import pytest

from spyops.operator.vpnlink.azure_client import (
    AzureError,
    AzureErrorReason,
    AzureObservation,
    ConnectionObservation,
    GatewayObservation,
    TunnelObservation,
)
from spyops.operator.vpnlink.health import (
    CheckOutcome,
    HealthState,
    Thresholds,
    advance,
    evaluate,
    judge_check,
)
from spyops.operator.vpnlink.model import LinkHealth
from spyops.operator.vpnlink.probes import ProbeResult

T0 = dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)
TH = Thresholds(failure_threshold=3, recovery_threshold=2)


def azure(
    status: str = "Connected", tunnels: tuple[str, ...] = ("Connected", "Connected"), gw: str = "Succeeded"
) -> AzureObservation:
    return AzureObservation(
        ConnectionObservation(
            status,
            "Succeeded",
            10,
            20,
            tuple(TunnelObservation(f"t{i}", s, 1, 2, "") for i, s in enumerate(tunnels)),
        ),
        GatewayObservation(gw, True),
    )


OK_PROBE = ProbeResult("10.0.0.4:443", True, 0.01)
BAD_PROBE = ProbeResult("10.0.0.5:443", False, None, "connection refused")


def run(outcomes: list[CheckOutcome], start: HealthState | None = None) -> list[HealthState]:
    state = start or HealthState()
    out = []
    for i, o in enumerate(outcomes):
        state = advance(state, o, TH, T0 + dt.timedelta(seconds=30 * i))
        out.append(state)
    return out


P, F, W, U = CheckOutcome.PASS, CheckOutcome.FAIL, CheckOutcome.WARN, CheckOutcome.UNKNOWN


def test_down_after_threshold_failures_then_recovery_after_threshold_successes() -> None:
    states = run([P, F, F, F, P, F, P, P])
    assert [s.health for s in states] == [
        LinkHealth.HEALTHY,
        LinkHealth.DEGRADED,
        LinkHealth.DEGRADED,
        LinkHealth.DOWN,
        LinkHealth.DOWN,  # one good check is not recovery
        LinkHealth.DOWN,  # a failure while Down stays Down
        LinkHealth.DOWN,
        LinkHealth.HEALTHY,
    ]
    assert states[3].consecutive_failures == 3
    assert states[3].since == T0 + dt.timedelta(seconds=90)
    assert states[6].since == states[3].since  # unchanged while Down
    assert states[7].consecutive_successes == 2


def test_flapping_inside_the_window_never_reaches_down() -> None:
    states = run([P, F, P, F, F, P, F, F, P] * 3)
    assert LinkHealth.DOWN not in {s.health for s in states}
    assert max(s.consecutive_failures for s in states) == 2


def test_warn_caps_at_degraded_but_counts_toward_recovery() -> None:
    down = run([F, F, F])[-1]
    states = run([W, W, W], start=down)
    assert [s.health for s in states] == [LinkHealth.DOWN, LinkHealth.DEGRADED, LinkHealth.DEGRADED]
    assert run([P, W])[-1].health is LinkHealth.DEGRADED


def test_unknown_changes_nothing() -> None:
    start = run([F, F])[-1]
    assert run([U, U], start=start)[-1] == start
    assert run([U])[-1].health is LinkHealth.UNKNOWN


def test_first_pass_is_healthy_at_once_first_fail_degraded() -> None:
    assert run([P])[0].health is LinkHealth.HEALTHY
    assert run([F])[0].health is LinkHealth.DEGRADED
    assert advance(HealthState(), F, Thresholds(1, 1), T0).health is LinkHealth.DOWN


@pytest.mark.parametrize(
    ("observation", "probes", "outcome", "reason"),
    [
        (azure(), [OK_PROBE], P, None),
        (azure("NotConnected", ("NotConnected", "NotConnected")), [OK_PROBE], F, "ConnectionNotConnected"),
        (azure("Connecting"), [], F, "ConnectionNotConnected"),
        (azure(tunnels=("Connected", "NotConnected")), [OK_PROBE], W, "TunnelDown"),
        (azure(tunnels=("NotConnected", "NotConnected")), [], F, "TunnelsDown"),
        (azure(gw="Failed"), [OK_PROBE], F, "GatewayNotProvisioned"),
        (azure(gw="Updating"), [OK_PROBE], W, "GatewayBusy"),
        (azure(), [BAD_PROBE], F, "ProbesFailed"),
        (azure(), [OK_PROBE, BAD_PROBE], W, "ProbesPartial"),
        (
            AzureObservation(None, None, AzureError(AzureErrorReason.THROTTLED, "x")),
            [OK_PROBE],
            P,
            "AzureThrottled",
        ),
        (
            AzureObservation(None, None, AzureError(AzureErrorReason.AUTH_FAILED, "x")),
            [],
            U,
            "AzureAuthFailed",
        ),
        (None, [], U, "NoEvidence"),
    ],
)
def test_judging_one_check(
    observation: AzureObservation | None, probes: list[ProbeResult], outcome: CheckOutcome, reason: str | None
) -> None:
    got, reasons = judge_check(observation, probes)
    assert got is outcome
    if reason is None:
        assert reasons == []
    else:
        assert any(r.startswith(reason) for r in reasons), reasons


def test_evaluate_reports_changes() -> None:
    verdict = evaluate(HealthState(), azure(), [OK_PROBE], TH, T0)
    assert verdict.changed
    assert verdict.state.health is LinkHealth.HEALTHY
    again = evaluate(verdict.state, azure(), [OK_PROBE], TH, T0 + dt.timedelta(seconds=30))
    assert not again.changed
    assert again.state.since == T0


def test_thresholds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        Thresholds(0, 1)
