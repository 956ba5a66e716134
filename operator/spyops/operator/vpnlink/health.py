"""The link health state machine (pure): one check's evidence in, Healthy / Degraded / Down out.

A check is judged PASS, WARN (traffic flows but something is off: one tunnel of two
down, some probe targets unreachable), FAIL (Azure says the connection is not
Connected, the gateway failed, or no probe target answers) or UNKNOWN (nothing
could be observed). Hysteresis:

- FAIL: failures += 1, successes = 0; Down once failures reach ``failure_threshold``,
  otherwise Degraded (a Down link stays Down).
- PASS / WARN: successes += 1, failures = 0; a Down or Degraded link becomes
  Healthy only after ``recovery_threshold`` good checks in a row (Unknown -> Healthy
  at once); WARN caps the result at Degraded.
- UNKNOWN: counters and health unchanged.

Azure API errors (bad credentials, throttling, ...) say nothing about the data
path; they are reported as their own condition and only make a check UNKNOWN when
there are no probes to judge by.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from spyops.operator.vpnlink.azure_client import AzureObservation
from spyops.operator.vpnlink.model import LinkHealth
from spyops.operator.vpnlink.probes import ProbeResult


class CheckOutcome(StrEnum):
    PASS = "Pass"  # noqa: S105 - a check outcome, not a credential
    WARN = "Warn"
    FAIL = "Fail"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class Thresholds:
    failure_threshold: int
    recovery_threshold: int

    def __post_init__(self) -> None:
        if self.failure_threshold < 1 or self.recovery_threshold < 1:
            raise ValueError("failure_threshold and recovery_threshold must be >= 1")


@dataclass(frozen=True)
class HealthState:
    health: LinkHealth = LinkHealth.UNKNOWN
    since: dt.datetime | None = None
    consecutive_failures: int = 0
    consecutive_successes: int = 0


@dataclass(frozen=True)
class HealthVerdict:
    state: HealthState
    outcome: CheckOutcome
    reasons: tuple[str, ...] = field(default=())
    changed: bool = False  # health differs from the previous state's


_BAD_GATEWAY_STATES = {"Failed", "Deleting", "Canceled"}
_BUSY_GATEWAY_STATES = {"Updating", "Creating"}


def judge_check(
    azure: AzureObservation | None, probes: Sequence[ProbeResult]
) -> tuple[CheckOutcome, list[str]]:
    """Classify one check's evidence and say why."""
    fails: list[str] = []
    warns: list[str] = []
    notes: list[str] = []
    azure_seen = False
    if azure is not None:
        if azure.error is not None:
            notes.append(f"{azure.error.reason.value}: Azure status unavailable")
        if azure.connection is not None:
            azure_seen = True
            conn = azure.connection
            if conn.connection_status != "Connected":
                fails.append(f"ConnectionNotConnected: Azure reports the connection {conn.connection_status}")
            else:
                down = [t.name for t in conn.tunnels if t.connection_status != "Connected"]
                if down and len(down) == len(conn.tunnels):
                    fails.append(f"TunnelsDown: every tunnel is down ({', '.join(down)})")
                elif down:
                    warns.append(f"TunnelDown: {', '.join(down)} not connected")
        if azure.gateway is not None:
            azure_seen = True
            state = azure.gateway.provisioning_state
            if state in _BAD_GATEWAY_STATES:
                fails.append(f"GatewayNotProvisioned: gateway provisioningState is {state}")
            elif state in _BUSY_GATEWAY_STATES:
                warns.append(f"GatewayBusy: gateway provisioningState is {state}")
    if probes:
        failed = [p for p in probes if not p.ok]
        if len(failed) == len(probes):
            fails.append(
                "ProbesFailed: no target reachable ("
                + "; ".join(f"{p.target}: {p.error}" for p in failed)
                + ")"
            )
        elif failed:
            warns.append("ProbesPartial: " + "; ".join(f"{p.target}: {p.error}" for p in failed))
    if fails:
        return CheckOutcome.FAIL, fails + warns + notes
    if not azure_seen and not probes:
        return CheckOutcome.UNKNOWN, notes or ["NoEvidence: neither Azure status nor probes available"]
    if warns:
        return CheckOutcome.WARN, warns + notes
    return CheckOutcome.PASS, notes


def advance(
    previous: HealthState, outcome: CheckOutcome, thresholds: Thresholds, now: dt.datetime
) -> HealthState:
    """The next state after one judged check (see the module docstring)."""
    prev = previous.health
    if outcome is CheckOutcome.UNKNOWN:
        return previous
    if outcome is CheckOutcome.FAIL:
        failures = previous.consecutive_failures + 1
        successes = 0
        if failures >= thresholds.failure_threshold or prev is LinkHealth.DOWN:
            health = LinkHealth.DOWN
        else:
            health = LinkHealth.DEGRADED
    else:
        failures = 0
        successes = previous.consecutive_successes + 1
        if prev in (LinkHealth.UNKNOWN, LinkHealth.HEALTHY) or successes >= thresholds.recovery_threshold:
            health = LinkHealth.HEALTHY
        else:
            health = prev  # Degraded or Down until enough good checks in a row
        if outcome is CheckOutcome.WARN and health is LinkHealth.HEALTHY:
            health = LinkHealth.DEGRADED
    since = previous.since if health is prev and previous.since is not None else now
    return HealthState(health, since, failures, successes)


def evaluate(
    previous: HealthState,
    azure: AzureObservation | None,
    probes: Sequence[ProbeResult],
    thresholds: Thresholds,
    now: dt.datetime,
) -> HealthVerdict:
    outcome, reasons = judge_check(azure, probes)
    state = advance(previous, outcome, thresholds, now)
    return HealthVerdict(state, outcome, tuple(reasons), state.health is not previous.health)
