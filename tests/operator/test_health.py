"""The operator's readiness checks as the shared probe server reports them."""

from __future__ import annotations

from spyops.common.probes import readiness_body
from spyops.operator.health import HealthState, readiness_checks, ready_details


def ready(state: HealthState) -> tuple[bool, dict[str, object]]:
    return readiness_body(readiness_checks(state), lambda: ready_details(state))


def test_not_ready_until_connected_and_leading_with_watches() -> None:
    state = HealthState()
    ok, body = ready(state)
    assert not ok
    assert body["reason"] == "not yet connected to the API server; not leading yet"
    state.connected = state.leader = True
    ok, body = ready(state)
    assert not ok
    assert body["reason"] == "leading, watches not up yet"
    state.watching = True
    ok, body = ready(state)
    assert ok
    assert {k: body[k] for k in ("leader", "watching", "standby")} == {
        "leader": True,
        "watching": True,
        "standby": False,
    }


def test_a_standby_replica_is_ready_to_take_over() -> None:
    ok, body = ready(HealthState(connected=True, standby=True))
    assert ok
    assert body["checks"] == {
        "api": {"ok": True, "reason": "connected to the API server"},
        "role": {"ok": True, "reason": "standby: another replica leads"},
    }
