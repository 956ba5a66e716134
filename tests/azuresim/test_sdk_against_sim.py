"""The real azure-mgmt-network and azure-identity against the simulator over HTTPS."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity.aio import ClientSecretCredential, ManagedIdentityCredential
from azure.mgmt.network.aio import NetworkManagementClient

from spyops.azuresim import AzureSim
from spyops.common import metrics_text
from tests.azuresim.fixtures import control


@pytest.fixture
async def client(azure_sim: AzureSim) -> AsyncIterator[NetworkManagementClient]:
    ep = azure_sim.endpoints
    assert ep is not None
    credential = ManagedIdentityCredential()
    async with (
        credential,
        NetworkManagementClient(
            credential,
            azure_sim.config.subscription_id,
            base_url=ep.arm_url,
            connection_verify=str(ep.ca_cert),
            polling_interval=0,
            retry_total=0,
            credential_scopes=[ep.arm_url + "/.default"],
        ) as c,
    ):
        yield c


async def test_connection_and_gateway_in_documented_shape(
    azure_sim: AzureSim, client: NetworkManagementClient
) -> None:
    cfg = azure_sim.config
    conn = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert conn.connection_status == "Connected"
    assert conn.ingress_bytes_transferred > 0
    assert [t.tunnel for t in conn.tunnel_connection_status] == ["tunnel-0", "tunnel-1"]
    assert all(t.connection_status == "Connected" for t in conn.tunnel_connection_status)
    assert conn.virtual_network_gateway1.id.endswith(f"/virtualNetworkGateways/{cfg.gateway_name}")
    again = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert again.egress_bytes_transferred > conn.egress_bytes_transferred  # traffic flows while Connected
    gw = await client.virtual_network_gateways.get(cfg.resource_group, cfg.gateway_name)
    assert gw.provisioning_state == "Succeeded"
    assert gw.properties.active_active is True
    assert gw.bgp_settings.asn == 65515


async def test_control_api_scripts_status_and_tunnel_flaps(
    azure_sim: AzureSim, client: NetworkManagementClient
) -> None:
    cfg = azure_sim.config
    await control(
        azure_sim,
        "POST",
        "/control/connection",
        {"tunnels": [{"name": "tunnel-1", "status": "NotConnected"}]},
    )
    conn = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert conn.connection_status == "Connected"
    assert [t.connection_status for t in conn.tunnel_connection_status] == ["Connected", "NotConnected"]
    await control(azure_sim, "POST", "/control/connection", {"status": "NotConnected", "bytesPerRead": 0})
    await control(azure_sim, "POST", "/control/gateway", {"provisioningState": "Updating"})
    conn = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert conn.connection_status == "NotConnected"
    assert {t.connection_status for t in conn.tunnel_connection_status} == {"NotConnected"}
    gw = await client.virtual_network_gateways.get(cfg.resource_group, cfg.gateway_name)
    assert gw.provisioning_state == "Updating"


async def test_reset_connection_lro_polls_then_restores_link(
    azure_sim: AzureSim, client: NetworkManagementClient
) -> None:
    cfg = azure_sim.config
    fake_now = [1000.0]
    azure_sim.sim.clock = lambda: fake_now[0]  # the simulator's timeline runs on this clock
    await control(azure_sim, "POST", "/control/connection", {"status": "NotConnected"})
    await control(
        azure_sim,
        "POST",
        "/control/reset-behavior",
        {"target": "connection", "result": "succeed", "polls": 3, "restoreAfterSeconds": 3},
    )
    await control(azure_sim, "DELETE", "/control/requests")
    poller = await client.virtual_network_gateway_connections.begin_reset_connection(
        cfg.resource_group, cfg.connection_name
    )
    await poller.result()  # resetconnection's final result is empty
    log = [
        r
        for r in (await control(azure_sim, "GET", "/control/requests"))["requests"]
        if r["operation"] != "token"
    ]
    ops = [r["operation"] for r in log]
    assert ops[0] == "resetConnection"
    assert log[0]["status"] == 202
    assert ops.count("operationStatus") == 4  # three InProgress, then Succeeded
    conn = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert conn.connection_status == "Connecting"
    fake_now[0] += 2.9
    conn = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert conn.connection_status == "Connecting"
    fake_now[0] += 0.1
    conn = await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    assert conn.connection_status == "Connected"


async def test_failed_reset_surfaces_the_operation_error(
    azure_sim: AzureSim, client: NetworkManagementClient
) -> None:
    cfg = azure_sim.config
    await control(
        azure_sim,
        "POST",
        "/control/reset-behavior",
        {
            "target": "gateway",
            "result": "fail",
            "polls": 1,
            "failCode": "GatewayResetFailed",
            "failMessage": "boom",
        },
    )
    poller = await client.virtual_network_gateways.begin_reset(cfg.resource_group, cfg.gateway_name)
    with pytest.raises(HttpResponseError, match="GatewayResetFailed"):
        await poller.result()
    state = await control(azure_sim, "GET", "/control/state")
    assert state["resetsStarted"]["gateway"] == 1
    assert state["gatewayProvisioningState"] == "Succeeded"


async def test_gateway_reset_returns_the_gateway(
    azure_sim: AzureSim, client: NetworkManagementClient
) -> None:
    cfg = azure_sim.config
    poller = await client.virtual_network_gateways.begin_reset(cfg.resource_group, cfg.gateway_name)
    gw = await poller.result()
    assert gw.name == cfg.gateway_name
    assert gw.provisioning_state == "Succeeded"


@pytest.mark.parametrize(
    ("status", "exc_type", "code"),
    [
        (401, ClientAuthenticationError, "InvalidAuthenticationToken"),
        (403, HttpResponseError, "AuthorizationFailed"),
        (404, ResourceNotFoundError, "ResourceNotFound"),
        (429, HttpResponseError, "TooManyRequests"),
        (500, HttpResponseError, "InternalServerError"),
        (503, HttpResponseError, "ServiceUnavailable"),
    ],
)
async def test_injected_faults_reach_the_sdk(
    azure_sim: AzureSim, client: NetworkManagementClient, status: int, exc_type: type[Exception], code: str
) -> None:
    cfg = azure_sim.config
    await control(
        azure_sim,
        "POST",
        "/control/faults",
        {"status": status, "count": 1, "retryAfter": 7, "operations": ["getGateway"]},
    )
    # The fault targets gateway reads only: the connection read is untouched.
    await client.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
    with pytest.raises(exc_type) as info:
        await client.virtual_network_gateways.get(cfg.resource_group, cfg.gateway_name)
    assert isinstance(info.value, HttpResponseError)
    assert info.value.status_code == status
    assert info.value.error is not None
    assert info.value.error.code == code
    assert info.value.response is not None
    headers = getattr(info.value.response, "headers", {})
    assert headers["Retry-After"] == "7"
    # Only the next one call failed.
    gw = await client.virtual_network_gateways.get(cfg.resource_group, cfg.gateway_name)
    assert gw.provisioning_state == "Succeeded"


async def test_unknown_resources_are_404(azure_sim: AzureSim, client: NetworkManagementClient) -> None:
    with pytest.raises(ResourceNotFoundError, match="ResourceNotFound"):
        await client.virtual_network_gateway_connections.get(
            azure_sim.config.resource_group, "no-such-connection"
        )
    with pytest.raises(ResourceNotFoundError, match="ResourceGroupNotFound"):
        await client.virtual_network_gateways.get("no-such-rg", azure_sim.config.gateway_name)


async def test_tokens_not_issued_by_the_sim_are_refused(azure_sim: AzureSim) -> None:
    ep = azure_sim.endpoints
    assert ep is not None
    sub = azure_sim.config.subscription_id
    url = f"{ep.arm_url}/subscriptions/{sub}/resourceGroups/x/providers/Microsoft.Network/connections/y"
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(ep.ca_cert))) as http:
        bare = await http.get(url)
        forged = await http.get(url, headers={"Authorization": "Bearer forged"})
        wrong_header = await http.get(
            ep.identity_endpoint, params={"resource": ep.arm_url}, headers={"X-IDENTITY-HEADER": "wrong"}
        )
    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "AuthenticationFailed"
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert wrong_header.status_code == 401


async def test_client_credentials_flow_with_local_authority(azure_sim: AzureSim) -> None:
    ep = azure_sim.endpoints
    assert ep is not None
    cfg = azure_sim.config
    good = ClientSecretCredential(
        cfg.tenant_id,
        cfg.client_id,
        cfg.client_secret,
        authority=ep.authority_url,
        disable_instance_discovery=True,
        connection_verify=str(ep.ca_cert),
    )
    async with (
        good,
        NetworkManagementClient(
            good,
            cfg.subscription_id,
            base_url=ep.arm_url,
            connection_verify=str(ep.ca_cert),
            retry_total=0,
            credential_scopes=[ep.arm_url + "/.default"],
        ) as c,
    ):
        conn = await c.virtual_network_gateway_connections.get(cfg.resource_group, cfg.connection_name)
        assert conn.name == cfg.connection_name
    bad = ClientSecretCredential(
        cfg.tenant_id,
        cfg.client_id,
        "not-the-secret",
        authority=ep.authority_url,
        disable_instance_discovery=True,
        connection_verify=str(ep.ca_cert),
    )
    async with bad:
        with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
            await bad.get_token(ep.arm_url + "/.default")


async def test_shared_key_served_but_never_logged(
    azure_sim: AzureSim, client: NetworkManagementClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = azure_sim.config
    key = await client.virtual_network_gateway_connections.get_shared_key(
        cfg.resource_group, cfg.connection_name
    )
    assert key.value == cfg.shared_key
    request_log = json.dumps(await control(azure_sim, "GET", "/control/requests"))
    state = json.dumps(await control(azure_sim, "GET", "/control/state"))
    assert "getSharedKey" in request_log
    for secret in (cfg.shared_key, cfg.client_secret, cfg.identity_header):
        assert secret not in request_log
        assert secret not in state
        assert secret not in caplog.text


async def test_control_api_names_the_bad_field(azure_sim: AzureSim) -> None:
    ep = azure_sim.endpoints
    assert ep is not None
    async with httpx.AsyncClient(base_url=ep.control_url) as http:
        bad_status = await http.post("/control/connection", json={"status": "Sideways"})
        no_effect = await http.post("/control/faults", json={"count": 2})
        not_json = await http.post(
            "/control/faults", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        health = await http.get("/health")
        metrics = await http.get("/metrics")
    assert bad_status.status_code == 400
    assert bad_status.json()["problems"][0]["field"] == "status"
    assert no_effect.status_code == 400
    assert "status or hangSeconds" in no_effect.text
    assert not_json.status_code == 400
    assert "line 1" in not_json.text
    assert health.status_code == 200
    assert "azuresim_requests" in metrics_text.families(metrics.text)
