"""The ARM JSON documents the simulator serves, in the shapes of the 2024-05-01+ REST spec."""

from __future__ import annotations

from typing import Any

from spyops.azuresim.state import LinkSimulation


def provider_prefix(sim: LinkSimulation) -> str:
    c = sim.config
    return f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}/providers/Microsoft.Network"


def connection_id(sim: LinkSimulation) -> str:
    return f"{provider_prefix(sim)}/connections/{sim.config.connection_name}"


def gateway_id(sim: LinkSimulation) -> str:
    return f"{provider_prefix(sim)}/virtualNetworkGateways/{sim.config.gateway_name}"


def connection_document(sim: LinkSimulation) -> dict[str, Any]:
    c = sim.config
    return {
        "name": c.connection_name,
        "id": connection_id(sim),
        "etag": 'W/"00000000-0000-0000-0000-000000000010"',
        "type": "Microsoft.Network/connections",
        "location": c.location,
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "00000000-0000-0000-0000-000000000011",
            "virtualNetworkGateway1": {"id": gateway_id(sim)},
            "localNetworkGateway2": {"id": f"{provider_prefix(sim)}/localNetworkGateways/edge-site"},
            "connectionType": "IPsec",
            "connectionProtocol": "IKEv2",
            "routingWeight": 0,
            "dpdTimeoutSeconds": 45,
            "connectionMode": "Default",
            "enableBgp": False,
            "useLocalAzureIpAddress": False,
            "usePolicyBasedTrafficSelectors": False,
            "ipsecPolicies": [],
            "trafficSelectorPolicies": [],
            "connectionStatus": sim.connection_status.value,
            "ingressBytesTransferred": sim.ingress_bytes,
            "egressBytesTransferred": sim.egress_bytes,
            "tunnelConnectionStatus": [
                {
                    "tunnel": t.name,
                    "connectionStatus": t.status.value,
                    "ingressBytesTransferred": t.ingress_bytes,
                    "egressBytesTransferred": t.egress_bytes,
                    "lastConnectionEstablishedUtcTime": t.last_established,
                }
                for t in sim.tunnels
            ],
        },
    }


def gateway_document(sim: LinkSimulation) -> dict[str, Any]:
    c = sim.config
    gid = gateway_id(sim)
    return {
        "name": c.gateway_name,
        "id": gid,
        "etag": 'W/"00000000-0000-0000-0000-000000000020"',
        "type": "Microsoft.Network/virtualNetworkGateways",
        "location": c.location,
        "properties": {
            "provisioningState": sim.gateway_state.value,
            "resourceGuid": "00000000-0000-0000-0000-000000000021",
            "gatewayType": "Vpn",
            "vpnType": "RouteBased",
            "vpnGatewayGeneration": "Generation2",
            "enableBgp": False,
            "activeActive": len(sim.tunnels) > 1,
            "sku": {"name": "VpnGw2AZ", "tier": "VpnGw2AZ", "capacity": 2},
            "ipConfigurations": [
                {
                    "name": f"ipconfig{i}",
                    "id": f"{gid}/ipConfigurations/ipconfig{i}",
                    "properties": {"privateIPAllocationMethod": "Dynamic", "provisioningState": "Succeeded"},
                }
                for i in range(max(1, len(sim.tunnels)))
            ],
            "bgpSettings": {
                "asn": 65515,
                "bgpPeeringAddress": ",".join(f"10.0.255.{4 + i}" for i in range(max(1, len(sim.tunnels)))),
                "peerWeight": 0,
                "bgpPeeringAddresses": [
                    {
                        "ipconfigurationId": f"{gid}/ipConfigurations/ipconfig{i}",
                        "defaultBgpIpAddresses": [f"10.0.255.{4 + i}"],
                        "customBgpIpAddresses": [],
                        "tunnelIpAddresses": [f"203.0.113.{10 + i}"],
                    }
                    for i in range(max(1, len(sim.tunnels)))
                ],
            },
        },
    }


def arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


FAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request is malformed (simulated)."),
    401: ("InvalidAuthenticationToken", "The access token is invalid or expired (simulated)."),
    403: (
        "AuthorizationFailed",
        "The client does not have authorization to perform this action over this scope (simulated).",
    ),
    404: ("ResourceNotFound", "The resource was not found (simulated)."),
    409: ("Conflict", "Another operation is in progress on this resource (simulated)."),
    429: (
        "TooManyRequests",
        "The request was throttled; retry after the given number of seconds (simulated).",
    ),
    500: ("InternalServerError", "An internal server error occurred (simulated)."),
    502: ("BadGateway", "The upstream service returned an invalid response (simulated)."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable (simulated)."),
    504: ("GatewayTimeout", "The upstream service did not respond in time (simulated)."),
}
