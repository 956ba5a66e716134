"""Specs and clients pointed at a running simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spyops.azuresim import AzureSim
from spyops.operator.vpnlink.azure_client import AzureClientSettings
from spyops.operator.vpnlink.engine import LinkEngine
from spyops.operator.vpnlink.model import VpnLinkSpec

EngineFactory = Callable[..., LinkEngine]


def sim_settings(sim: AzureSim, **overrides: Any) -> AzureClientSettings:
    assert sim.endpoints is not None
    values: dict[str, Any] = {
        "connection_verify": str(sim.endpoints.ca_cert),
        "polling_interval": 0.0,
        "retry_total": 0,
        "connection_timeout": 5.0,
        "read_timeout": 10.0,
        "read_deadline": 30.0,
        "reset_deadline": 30.0,
    }
    values.update(overrides)
    return AzureClientSettings(**values)


def sim_spec(sim: AzureSim, *, secret: bool = False, **sections: Any) -> VpnLinkSpec:
    assert sim.endpoints is not None
    c = sim.config
    azure: dict[str, Any] = {
        "subscriptionId": c.subscription_id,
        "resourceGroup": c.resource_group,
        "gatewayName": c.gateway_name,
        "connectionName": c.connection_name,
        "endpoint": sim.endpoints.arm_url,
    }
    if secret:
        azure["credentialsSecretRef"] = {"name": "azure-sp"}
        azure["authorityHost"] = sim.endpoints.authority_url
    else:
        azure["useManagedIdentity"] = True
    azure.update(sections.pop("azure", {}))
    return VpnLinkSpec.model_validate({"azure": azure, **sections})


def secret_values(sim: AzureSim, **overrides: str) -> dict[str, str]:
    c = sim.config
    values = {
        "tenantId": c.tenant_id,
        "clientId": c.client_id,
        "clientSecret": c.client_secret,
    }
    values.update(overrides)
    return values
