"""The controller's pure helpers: Secret decoding, the status patch, the engine's view of a status."""

from __future__ import annotations

import base64
import datetime as dt

from spyops.operator.vpnlink.controller import decode_secret, status_patch
from spyops.operator.vpnlink.model import (
    ActionName,
    ActionRecord,
    ActionResult,
    LinkHealth,
    OutboundState,
    VpnLinkStatus,
    engine_status,
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_decode_secret_keeps_text_and_skips_binary() -> None:
    secret = {"data": {"clientId": b64("app"), "blob": base64.b64encode(b"\xff\xfe").decode(), "bad": "%%"}}
    assert decode_secret(secret) == {"clientId": "app"}
    assert decode_secret(None) is None
    assert decode_secret({"metadata": {}}) == {}


def test_status_patch_writes_engine_fields_conditions_and_generation() -> None:
    now = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
    record = ActionRecord(
        time=now, action=ActionName.RESET_CONNECTION, result=ActionResult.STARTED, message="link Down"
    )
    status = VpnLinkStatus(
        health=LinkHealth.DOWN,
        consecutive_failures=3,
        outbound=OutboundState.BUFFERING,
        last_failover=record,
        action_history=[record],
        reasons=["ProbesFailed: no target reachable"],
    )
    patch = status_patch(status, {}, 4)
    assert patch["observedGeneration"] == 4
    assert patch["health"] == "Down"
    assert patch["outbound"] == "buffering"
    assert patch["lastFailover"]["result"] == "Started"
    kinds = {c["type"]: c for c in patch["conditions"]}
    assert kinds["Ready"]["status"] == "False"
    assert kinds["LinkHealthy"]["reason"] == "ProbesFailed"
    assert kinds["FailoverActive"]["reason"] == "OutboundBuffering"
    assert kinds["Stalled"]["status"] == "False"
    assert all(c["observedGeneration"] == 4 for c in patch["conditions"])
    # What was written reads back as the same engine status (restart safety).
    back = engine_status({**patch, "leader": "someone-else's key"})
    assert back == status


def test_engine_status_of_nothing_or_garbage_starts_empty() -> None:
    assert engine_status(None) == VpnLinkStatus()
    assert engine_status({"health": "Exploded"}) == VpnLinkStatus()
