"""TCP probes, the Alertmanager notice, and validation of the VpnLink spec."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from spyops.operator.vpnlink.model import VpnLinkSpec, VpnLinkStatus, split_target
from spyops.operator.vpnlink.notify import alerts_url, build_alert, safe_host, send_alert
from spyops.operator.vpnlink.probes import probe_all, probe_tcp


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_probe_measures_an_open_port_and_reports_a_closed_one() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        ok, refused, invalid = await probe_all(
            [f"127.0.0.1:{port}", f"127.0.0.1:{_closed_port()}", "no-port-here"], timeout_seconds=5
        )
    finally:
        server.close()
        await server.wait_closed()
    assert ok.ok
    assert ok.latency_seconds is not None
    assert ok.latency_seconds > 0
    assert not refused.ok
    assert refused.error == "connection refused"
    assert not invalid.ok
    assert "host:port" in invalid.error


async def test_probe_times_out_on_a_listener_that_never_accepts() -> None:
    # A listening socket with a full backlog that is never accepted: SYNs go unanswered on Linux
    # once the queue is full, so the connect attempt hangs until our timeout.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            fillers.append(s)
        result = await probe_tcp(f"127.0.0.1:{port}", timeout_seconds=0.5)
    finally:
        for s in fillers:
            s.close()
        listener.close()
    assert not result.ok
    assert result.error == "no connection within 0.5 s"


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("10.0.0.4:443", ("10.0.0.4", 443)),
        ("backend.internal:8080", ("backend.internal", 8080)),
        ("[fd00::1]:22", ("fd00::1", 22)),
    ],
)
def test_split_target(target: str, expected: tuple[str, int]) -> None:
    assert split_target(target) == expected


@pytest.mark.parametrize("target", ["host", "host:0", "host:70000", ":80", "a b:1", "fd00::1:22"])
def test_bad_targets_are_refused(target: str) -> None:
    with pytest.raises(ValueError, match="probe target"):
        split_target(target)


async def test_alert_reaches_a_webhook_in_alertmanager_v2_shape() -> None:
    received: list[Any] = []

    async def alerts(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/api/v2/alerts", alerts)
    runner = web.AppRunner(app, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    start = dt.datetime(2026, 11, 21, 15, 0, tzinfo=dt.UTC)
    try:
        body = build_alert(
            link="azure-link",
            namespace="edge",
            firing=False,
            summary="s",
            description="d",
            started_at=start,
            now=start,
        )
        outcome = await send_alert(f"http://user:pw@127.0.0.1:{port}", body, timeout_seconds=5)
        missing = await send_alert(f"http://127.0.0.1:{port}/elsewhere", body, timeout_seconds=5)
        down = await send_alert(f"http://127.0.0.1:{_closed_port()}", body, timeout_seconds=5)
    finally:
        await runner.cleanup()
    assert outcome.ok, outcome.message
    assert received[0][0]["labels"] == {
        "alertname": "SpyopsVpnLinkDown",
        "vpnlink": "azure-link",
        "namespace": "edge",
        "severity": "critical",
        "source": "spyops-operator",
    }
    assert received[0][0]["startsAt"] == "2026-11-21T15:00:00Z"
    assert received[0][0]["endsAt"] == "2026-11-21T15:00:00Z"
    assert "pw" not in outcome.message
    assert not missing.ok
    assert "HTTP 404" in missing.message
    assert not down.ok
    assert "unreachable" in down.message


def test_alert_urls() -> None:
    assert alerts_url("http://am:9093") == "http://am:9093/api/v2/alerts"
    assert alerts_url("http://am:9093/custom/hook") == "http://am:9093/custom/hook"
    assert safe_host("https://u:secret@am.example:9093/api?token=abc") == "https://am.example:9093"


BASE: dict[str, Any] = {
    "azure": {
        "subscriptionId": "sub",
        "resourceGroup": "rg",
        "gatewayName": "gw",
        "connectionName": "conn",
        "credentialsSecretRef": {"name": "azure-sp"},
    }
}


def test_spec_defaults_and_camel_case_round_trip() -> None:
    spec = VpnLinkSpec.model_validate(BASE)
    assert spec.failover.failure_threshold == 3
    assert spec.azure.credentials_secret_ref is not None
    assert spec.azure.credentials_secret_ref.client_secret_key == "clientSecret"
    dumped = spec.model_dump(mode="json", by_alias=True)
    assert dumped["failover"]["maxActionsPerHour"] == 4
    assert dumped["probes"]["intervalSeconds"] == 10
    assert "consecutiveFailures" in VpnLinkStatus().model_dump(by_alias=True)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"azure": {**BASE["azure"], "useManagedIdentity": True}}, "exactly one of credentialsSecretRef"),
        ({"azure": {k: v for k, v in BASE["azure"].items() if k != "credentialsSecretRef"}}, "exactly one"),
        ({"azure": {**BASE["azure"], "endpoint": "http://plain"}}, "azure.endpoint"),
        ({"failover": {"outboundAction": "backup"}}, "backupUrl"),
        ({"failover": {"failureThreshold": 0}}, "failover.failureThreshold"),
        ({"probes": {"targets": ["nope"]}}, "probes.targets.0"),
        ({"failover": {"surprise": 1}}, "failover.surprise"),
    ],
)
def test_bad_specs_name_the_field(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        VpnLinkSpec.model_validate({**BASE, **patch})
    text = str(info.value).replace("\n", " ")
    assert message in text or message in " ".join(".".join(map(str, e["loc"])) for e in info.value.errors())
