"""AzureLinkClient with the real SDK against the simulator: reads, resets, and every error class."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest

from spyops.azuresim import AzureSim
from spyops.operator.vpnlink.azure_client import (
    AzureErrorReason,
    CredentialsError,
    open_link_client,
)
from tests.azuresim.fixtures import control
from tests.vpnlink.helpers import secret_values, sim_settings, sim_spec


@pytest.mark.parametrize("secret", [False, True], ids=["managed-identity", "service-principal"])
async def test_read_connection_and_gateway(azure_sim: AzureSim, secret: bool) -> None:
    spec = sim_spec(azure_sim, secret=secret)
    async with open_link_client(spec.azure, secret_values(azure_sim), sim_settings(azure_sim)) as client:
        obs = await client.read()
    assert obs.error is None
    assert obs.connection is not None
    assert obs.connection.connection_status == "Connected"
    assert [t.name for t in obs.connection.tunnels] == ["tunnel-0", "tunnel-1"]
    assert obs.connection.ingress_bytes > 0
    assert obs.gateway is not None
    assert obs.gateway.provisioning_state == "Succeeded"
    assert obs.gateway.active_active


@pytest.mark.parametrize(
    ("fault", "reason", "status", "words"),
    [
        ({"status": 401}, AzureErrorReason.AUTH_FAILED, 401, "rejected the credentials"),
        ({"status": 403}, AzureErrorReason.FORBIDDEN, 403, "lacks permission"),
        ({"status": 404}, AzureErrorReason.NOT_FOUND, 404, "check subscriptionId"),
        ({"status": 429, "retryAfter": 7}, AzureErrorReason.THROTTLED, 429, "retry after 7 s"),
        ({"status": 500}, AzureErrorReason.SERVER_ERROR, 500, "server error"),
        ({"status": 503}, AzureErrorReason.SERVER_ERROR, 503, "ServiceUnavailable"),
        ({"hangSeconds": 5}, AzureErrorReason.TIMEOUT, None, "did not answer in time"),
    ],
)
async def test_each_azure_error_has_its_reason(
    azure_sim: AzureSim, fault: dict[str, object], reason: AzureErrorReason, status: int | None, words: str
) -> None:
    await control(
        azure_sim, "POST", "/control/faults", {**fault, "count": 1, "operations": ["getConnection"]}
    )
    spec = sim_spec(azure_sim)
    async with open_link_client(spec.azure, None, sim_settings(azure_sim, read_timeout=1.0)) as client:
        obs = await client.read()
    assert obs.error is not None
    assert obs.error.reason is reason
    assert obs.error.http_status == status
    assert words in obs.error.message
    assert obs.error.message.startswith(f"reading connection {azure_sim.config.connection_name}")
    assert obs.connection is None
    assert obs.gateway is not None  # the other read still succeeded
    if reason is AzureErrorReason.THROTTLED:
        assert obs.error.retry_after_seconds == 7
    if reason is AzureErrorReason.TIMEOUT:
        # The simulator notices the client hung up and logs the request as 499.
        async with asyncio.timeout(30):
            while True:
                log = (await control(azure_sim, "GET", "/control/requests"))["requests"]
                statuses = [r["status"] for r in log if r["operation"] == "getConnection"]
                if statuses:
                    break
                await asyncio.sleep(0.05)
        assert statuses == [499]


async def test_wrong_names_are_not_found(azure_sim: AzureSim) -> None:
    spec = sim_spec(azure_sim, azure={"connectionName": "nope"})
    async with open_link_client(spec.azure, None, sim_settings(azure_sim)) as client:
        obs = await client.read()
    assert obs.error is not None
    assert obs.error.reason is AzureErrorReason.NOT_FOUND
    assert "connections/nope" in obs.error.message


async def test_unreachable_endpoint(azure_sim: AzureSim) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens here
    spec = sim_spec(azure_sim, azure={"endpoint": f"https://127.0.0.1:{port}"})
    async with open_link_client(spec.azure, None, sim_settings(azure_sim)) as client:
        obs = await client.read()
    assert obs.error is not None
    assert obs.error.reason is AzureErrorReason.UNREACHABLE


async def test_untrusted_certificate_is_unreachable_with_tls_in_the_message(azure_sim: AzureSim) -> None:
    spec = sim_spec(azure_sim)
    async with open_link_client(spec.azure, None, sim_settings(azure_sim, connection_verify=True)) as client:
        obs = await client.read()
    assert obs.error is not None
    assert obs.error.reason is AzureErrorReason.UNREACHABLE
    assert "certificate" in obs.error.message.lower()


async def test_bad_client_secret_is_auth_failed_and_never_echoed(
    azure_sim: AzureSim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "Wr0ng-Secret-Value-1234567890"
    spec = sim_spec(azure_sim, secret=True)
    async with open_link_client(
        spec.azure, secret_values(azure_sim, clientSecret=wrong), sim_settings(azure_sim)
    ) as client:
        obs = await client.read()
        outcome = await client.reset_connection()
    assert obs.error is not None
    assert obs.error.reason is AzureErrorReason.AUTH_FAILED
    assert "AADSTS7000215" in obs.error.message
    assert not outcome.ok
    for text in (obs.error.message, outcome.message, caplog.text):
        assert wrong not in text
        assert azure_sim.config.client_secret not in text


def test_missing_secret_key_names_the_key_not_the_values(azure_sim: AzureSim) -> None:
    spec = sim_spec(azure_sim, secret=True)
    values = secret_values(azure_sim)
    del values["clientSecret"]
    with pytest.raises(CredentialsError, match="'clientSecret'") as info:
        open_link_client(spec.azure, values, sim_settings(azure_sim))
    assert azure_sim.config.client_id not in str(info.value)
    with pytest.raises(CredentialsError, match="not found"):
        open_link_client(spec.azure, None, sim_settings(azure_sim))


async def test_reset_connection_and_gateway_lros(azure_sim: AzureSim) -> None:
    await control(azure_sim, "POST", "/control/reset-behavior", {"target": "connection", "polls": 2})
    spec = sim_spec(azure_sim)
    async with open_link_client(spec.azure, None, sim_settings(azure_sim)) as client:
        conn = await client.reset_connection()
        gw = await client.reset_gateway()
    assert conn.ok, conn.message
    assert gw.ok, gw.message
    state = await control(azure_sim, "GET", "/control/state")
    assert state["resetsStarted"] == {"connection": 1, "gateway": 1}


async def test_failed_reset_is_operation_failed(azure_sim: AzureSim) -> None:
    await control(
        azure_sim,
        "POST",
        "/control/reset-behavior",
        {
            "target": "connection",
            "result": "fail",
            "failCode": "ConnectionResetFailed",
            "failMessage": "no peer",
        },
    )
    spec = sim_spec(azure_sim)
    async with open_link_client(spec.azure, None, sim_settings(azure_sim)) as client:
        outcome = await client.reset_connection()
    assert not outcome.ok
    assert outcome.error is not None
    assert outcome.error.reason is AzureErrorReason.OPERATION_FAILED
    assert "ConnectionResetFailed" in outcome.message


async def test_throttled_reset_start(azure_sim: AzureSim) -> None:
    await control(
        azure_sim,
        "POST",
        "/control/faults",
        {"status": 429, "retryAfter": 30, "operations": ["resetConnection"]},
    )
    spec = sim_spec(azure_sim)
    async with open_link_client(spec.azure, None, sim_settings(azure_sim)) as client:
        outcome = await client.reset_connection()
    assert outcome.error is not None
    assert outcome.error.reason is AzureErrorReason.THROTTLED
    assert outcome.error.retry_after_seconds == 30


async def test_workload_identity_with_a_federated_token(
    azure_sim: AzureSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert azure_sim.endpoints is not None
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text(azure_sim.config.federated_token, encoding="utf-8")
    # What the AKS workload-identity webhook injects into the pod.
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AZURE_CLIENT_ID", azure_sim.config.client_id)
    monkeypatch.setenv("AZURE_TENANT_ID", azure_sim.config.tenant_id)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", azure_sim.endpoints.authority_url)
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    spec = sim_spec(azure_sim)
    settings = sim_settings(azure_sim)
    async with open_link_client(spec.azure, None, settings) as client:
        obs = await client.read()
    assert obs.error is None, obs.error
    assert obs.connection is not None
    token_file.write_text("a-stale-token", encoding="utf-8")
    async with open_link_client(spec.azure, None, settings) as client:
        obs = await client.read()
    assert obs.error is not None
    assert obs.error.reason is AzureErrorReason.AUTH_FAILED
    assert "AADSTS700211" in obs.error.message


async def test_resets_without_a_location_header(azure_sim: AzureSim) -> None:
    for target in ("connection", "gateway"):
        await control(
            azure_sim, "POST", "/control/reset-behavior", {"target": target, "locationHeader": False}
        )
    spec = sim_spec(azure_sim)
    async with open_link_client(spec.azure, None, sim_settings(azure_sim)) as client:
        conn = await client.reset_connection()
        gw = await client.reset_gateway()
    assert conn.ok, conn.message
    assert gw.ok, gw.message
    log = (await control(azure_sim, "GET", "/control/requests"))["requests"]
    assert "operationResult" not in [r["operation"] for r in log]
