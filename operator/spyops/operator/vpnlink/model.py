"""The engine's view of a VpnLink: spec and status, camelCase on the wire.

The API (the CRD, ``spyops.operator.api.vpnlink``) is the source of truth: these models
carry its field names and accept what its schema admits, so the controller can hand
them any object the API server accepted. The controller persists
:class:`VpnLinkStatus` in ``.status`` and hands it back on the next check, which is
what makes failover decisions survive operator restarts.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

log = logging.getLogger("spyops.operator.vpnlink")

_TARGET = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9._-]+)):(?P<port>[0-9]{1,5})$")


def split_target(target: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` -> (host, port); ValueError naming the target otherwise."""
    match = _TARGET.match(target)
    port = int(match.group("port")) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise ValueError(f"probe target {target!r} is not host:port (or [ipv6]:port) with a port in 1..65535")
    return (match.group("v6") or match.group("host"), port)


def _check_target(target: str) -> str:
    split_target(target)
    return target


ProbeTarget = Annotated[str, AfterValidator(_check_target)]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# --------------------------------------------------------------------------------------
# spec


class SecretRef(_Model):
    """The service principal Secret and which of its keys hold what (the CRD's field names)."""

    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    client_id_key: str = Field(default="clientId", min_length=1)
    client_secret_key: str = Field(default="clientSecret", min_length=1)
    tenant_id_key: str = Field(default="tenantId", min_length=1)


class CaBundleSecretRef(_Model):
    """A Secret key holding a PEM CA bundle to trust for the endpoint override."""

    name: str = Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    key: str = Field(default="ca.crt", min_length=1)


class AzureRef(_Model):
    """The Azure connection to watch and how to authenticate."""

    subscription_id: str = Field(min_length=1, max_length=64)
    resource_group: str = Field(min_length=1, max_length=90)
    gateway_name: str = Field(min_length=1, max_length=80)
    connection_name: str = Field(min_length=1, max_length=80)
    credentials_secret_ref: SecretRef | None = Field(
        default=None, description="Service principal (client id / secret / tenant) in a Secret."
    )
    use_managed_identity: bool = Field(
        default=False, description="Use the pod's workload identity or managed identity instead of a Secret."
    )
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https://",
        description="ARM base URL override (sovereign clouds, local simulator); https only.",
    )
    ca_bundle_secret_ref: CaBundleSecretRef | None = Field(
        default=None, description="CA bundle (in a Secret) to trust for the endpoint override."
    )
    authority_host: str | None = Field(
        default=None,
        pattern=r"^https://",
        description="Microsoft Entra authority override for the Secret's service principal; https only.",
    )

    @model_validator(mode="after")
    def _one_credential_source(self) -> AzureRef:
        if (self.credentials_secret_ref is None) == (not self.use_managed_identity):
            raise ValueError("set exactly one of credentialsSecretRef and useManagedIdentity")
        return self


class ProbeSpec(_Model):
    targets: list[ProbeTarget] = Field(
        default_factory=list, max_length=16, description="host:port across the VPN."
    )
    interval_seconds: int = Field(default=10, ge=1, le=3600)
    timeout_seconds: float = Field(default=3.0, gt=0, le=600)


class OutboundAction(StrEnum):
    BUFFERING = "buffering"
    BACKUP = "backup"


class FailoverPolicy(_Model):
    failure_threshold: int = Field(default=3, ge=1, le=100, description="Failed checks in a row before Down.")
    recovery_threshold: int = Field(
        default=2, ge=1, le=100, description="Good checks in a row before Healthy."
    )
    reset_connection: bool = True
    reset_gateway: bool = False
    outbound_action: OutboundAction = OutboundAction.BUFFERING
    backup_url: str | None = Field(default=None, pattern=r"^https?://")
    cooldown_seconds: int = Field(
        default=300, ge=0, le=86_400, description="Minimum time between two resets."
    )
    max_actions_per_hour: int = Field(default=4, ge=0, le=60, description="Resets allowed in any 60 minutes.")
    webhook_url: str | None = Field(
        default=None, pattern=r"^https?://", description="Alertmanager base URL or full /api/v2/alerts URL."
    )

    @model_validator(mode="after")
    def _backup_needs_url(self) -> FailoverPolicy:
        if self.outbound_action is OutboundAction.BACKUP and not self.backup_url:
            raise ValueError("outboundAction backup needs backupUrl")
        return self


class VpnLinkSpec(_Model):
    azure: AzureRef
    probes: ProbeSpec = Field(default_factory=ProbeSpec)
    failover: FailoverPolicy = Field(default_factory=FailoverPolicy)


# --------------------------------------------------------------------------------------
# status


class LinkHealth(StrEnum):
    UNKNOWN = "Unknown"
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    DOWN = "Down"


class OutboundState(StrEnum):
    """What the controller has told dependent strategies to do with backend traffic."""

    DIRECT = "direct"
    BUFFERING = "buffering"
    BACKUP = "backup"


class TunnelStatus(_Model):
    name: str
    connection_status: str
    ingress_bytes: int = 0
    egress_bytes: int = 0
    last_connection_established: str = ""


class AzureStatus(_Model):
    connection_status: str = "Unknown"
    tunnels: list[TunnelStatus] = Field(default_factory=list)
    ingress_bytes: int = 0
    egress_bytes: int = 0
    gateway_provisioning_state: str = "Unknown"
    observed_at: dt.datetime | None = None
    error_reason: str = Field(default="", description="Empty when the last read succeeded.")
    error_message: str = ""


class ProbeStatus(_Model):
    target: str
    ok: bool
    latency_ms: float | None = None
    error: str = ""


class ActionName(StrEnum):
    RESET_CONNECTION = "ResetConnection"
    RESET_GATEWAY = "ResetGateway"
    SWITCH_OUTBOUND = "SwitchOutbound"
    RESTORE_OUTBOUND = "RestoreOutbound"
    NOTIFY = "Notify"


class ActionResult(StrEnum):
    STARTED = "Started"  # persisted before the action runs; never repeated inside the cooldown
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class ActionRecord(_Model):
    time: dt.datetime
    action: ActionName
    result: ActionResult
    target: str = Field(default="", description="Outbound mode for switches, 'down'/'recovered' for notices.")
    message: str = Field(default="", max_length=1024)


class VpnLinkStatus(_Model):
    azure: AzureStatus = Field(default_factory=AzureStatus)
    probes: list[ProbeStatus] = Field(default_factory=list)
    health: LinkHealth = LinkHealth.UNKNOWN
    health_since: dt.datetime | None = Field(default=None, description="When health last changed.")
    consecutive_failures: int = 0
    consecutive_successes: int = 0
    outbound: OutboundState = OutboundState.DIRECT
    last_failover: ActionRecord | None = None
    action_history: list[ActionRecord] = Field(default_factory=list)
    failover_held_back: str = Field(
        default="", description="Why a wanted reset is held back (cooldown, cap)."
    )
    last_check: dt.datetime | None = None
    reasons: list[str] = Field(default_factory=list, description="Why the last check judged as it did.")


def engine_status(raw: Mapping[str, object] | None) -> VpnLinkStatus:
    """The engine's fields of a VpnLink's ``.status`` (conditions and other writers' keys left out).

    A status the engine cannot read (written by hand, say) starts over from an empty one rather
    than stopping the controller; the API server's schema makes that rare.
    """
    if not raw:
        return VpnLinkStatus()
    wire = {info.alias or name for name, info in VpnLinkStatus.model_fields.items()}
    fields = {k: v for k, v in raw.items() if k in wire and v is not None}
    try:
        return VpnLinkStatus.model_validate(fields)
    except ValidationError as exc:
        log.warning("VpnLink status unreadable; starting from an empty one", extra={"error": str(exc)[:500]})
        return VpnLinkStatus()
