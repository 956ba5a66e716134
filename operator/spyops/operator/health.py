"""What the operator's /ready reports: its named readiness checks over the state it sets as it comes up.

The server is the shared one (:class:`spyops.common.probes.ProbeServer`): /health (/healthz),
/ready (/readyz) and /metrics of the operator's registry. Liveness is the event loop turning
(:meth:`~spyops.common.probes.ProbeServer.beat_every`); the probes are answered on the same loop,
so readiness needs no liveness term of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from spyops.common.probes import ProbeServer, ReadinessCheck
from spyops.operator.metrics import REGISTRY

# The loop heartbeat must have ticked within this long for /health to pass.
STALE_AFTER = 30.0
HEARTBEAT_INTERVAL = 2.0


@dataclass
class HealthState:
    """Set by the operator as it comes up; read by the probes."""

    connected: bool = False  # talked to the API server (leader election or first reconcile)
    leader: bool = False
    watching: bool = False  # kopf's watches are up
    standby: bool = False  # leader election on and another replica leads


def readiness_checks(state: HealthState) -> dict[str, ReadinessCheck]:
    def api() -> tuple[bool, str]:
        if state.connected:
            return True, "connected to the API server"
        return False, "not yet connected to the API server"

    def role() -> tuple[bool, str]:
        # A standby replica is ready to take over; the leader is ready once it watches.
        if state.standby:
            return True, "standby: another replica leads"
        if state.leader and state.watching:
            return True, "leading and watching"
        return False, "leading, watches not up yet" if state.leader else "not leading yet"

    return {"api": api, "role": role}


def ready_details(state: HealthState) -> Mapping[str, object]:
    return {"leader": state.leader, "watching": state.watching, "standby": state.standby}


def probe_server(state: HealthState) -> ProbeServer:
    return ProbeServer(
        readiness_checks(state),
        stale_after=STALE_AFTER,
        registry=REGISTRY,
        ready_details=lambda: ready_details(state),
    )
