"""VpnLink: the site-to-site VPN to Azure, its local probes and its failover policy.

The controller lives in ``spyops.operator.vpnlink``; this module is only the API it serves.
Strategies name the link they depend on with ``spec.cloudLinkRef`` and see its state as
their ``CloudLinkReady`` condition.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import ConfigDict, Field
from pydantic.alias_generators import to_camel

from spyops.operator.api.common import (
    AGE_COLUMN,
    DNS_SUBDOMAIN,
    READY_COLUMN,
    SECRET_KEY,
    ApiModel,
    Condition,
    KindInfo,
    PrinterColumn,
    cel,
    conditions_field,
    validations,
)

_AZURE_NAME = r"^[-\w._()]+$"
_URL = r"^https?://[^\s]+$"
_HTTPS_URL = r"^https://[^\s]+$"


def _model_config(*rules: dict[str, str]) -> ConfigDict:
    extra = validations(*rules) if rules else None
    return ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, json_schema_extra=extra
    )


class LinkHealth(StrEnum):
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    DOWN = "Down"
    UNKNOWN = "Unknown"


class OutboundAction(StrEnum):
    BUFFERING = "buffering"
    BACKUP = "backup"


class OutboundState(StrEnum):
    """What the controller told the dependent strategies: send directly, keep in the outbox, or reroute."""

    DIRECT = "direct"
    BUFFERING = "buffering"
    BACKUP = "backup"


class AzureCredentialsSecretRef(ApiModel):
    """A Secret with a service principal's client id, client secret and tenant id."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="Secret name.")
    client_id_key: str = Field(
        default="clientId",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the client id.",
    )
    client_secret_key: str = Field(
        default="clientSecret",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the client secret.",
    )
    tenant_id_key: str = Field(
        default="tenantId",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the tenant id.",
    )


class CaBundleSecretRef(ApiModel):
    """A Secret holding a PEM CA bundle to trust for the endpoint override."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="Secret name.")
    key: str = Field(default="ca.crt", min_length=1, max_length=253, pattern=SECRET_KEY, description="Key.")


class AzureConnection(ApiModel):
    """The Azure VPN connection to watch and, on failover, reset."""

    model_config = _model_config(
        cel(
            "self.useManagedIdentity || has(self.credentialsSecretRef)",
            "credentialsSecretRef is required unless useManagedIdentity is true",
            ".credentialsSecretRef",
            "FieldValueRequired",
        ),
        cel(
            "!(self.useManagedIdentity && has(self.credentialsSecretRef))",
            "set either useManagedIdentity or credentialsSecretRef, not both",
            ".useManagedIdentity",
        ),
        cel(
            "!has(self.caBundleSecretRef) || has(self.endpoint)",
            "caBundleSecretRef applies only with an endpoint override",
            ".caBundleSecretRef",
        ),
    )

    subscription_id: str = Field(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
        description="Azure subscription id (a GUID).",
    )
    resource_group: str = Field(
        min_length=1, max_length=90, pattern=_AZURE_NAME, description="Resource group of the VPN gateway."
    )
    gateway_name: str = Field(
        min_length=1, max_length=80, pattern=_AZURE_NAME, description="Virtual network gateway."
    )
    connection_name: str = Field(
        min_length=1, max_length=80, pattern=_AZURE_NAME, description="Site-to-site connection."
    )
    credentials_secret_ref: AzureCredentialsSecretRef | None = Field(
        default=None, description="Service principal credentials (never inline)."
    )
    use_managed_identity: bool = Field(
        default=False, description="Authenticate with a managed identity instead."
    )
    endpoint: str | None = Field(
        default=None,
        max_length=2048,
        pattern=_HTTPS_URL,
        description="Azure Resource Manager URL override (sovereign clouds, tests); https only.",
    )
    authority_host: str | None = Field(
        default=None,
        max_length=2048,
        pattern=_HTTPS_URL,
        description="Microsoft Entra authority for the Secret's service principal (sovereign clouds); https.",
    )
    ca_bundle_secret_ref: CaBundleSecretRef | None = Field(
        default=None, description="CA bundle to trust for the endpoint override."
    )


class ProbeSettings(ApiModel):
    """Local probes across the tunnel: TCP connects to hosts on the Azure side."""

    model_config = _model_config(
        cel(
            "self.timeoutSeconds < self.intervalSeconds",
            "timeoutSeconds must be less than intervalSeconds",
            ".timeoutSeconds",
        )
    )

    targets: list[str] = Field(
        min_length=1,
        max_length=16,
        description="host:port targets on the far side of the tunnel.",
        json_schema_extra={"items": {"pattern": r"^[A-Za-z0-9.-]+:[0-9]{1,5}$", "maxLength": 261}},
    )
    interval_seconds: int = Field(default=10, ge=1, le=3600, description="Seconds between probe rounds.")
    timeout_seconds: int = Field(default=3, ge=1, le=600, description="Seconds before one probe fails.")


class FailoverPolicy(ApiModel):
    """What to do after consecutive probe failures, bounded by cooldowns and an hourly cap."""

    model_config = _model_config(
        cel(
            "self.outboundAction != 'backup' || (has(self.backupUrl) && size(self.backupUrl) > 0)",
            "outboundAction backup needs backupUrl",
            ".backupUrl",
            "FieldValueRequired",
        )
    )

    failure_threshold: int = Field(default=3, ge=1, le=100, description="Consecutive failures before acting.")
    recovery_threshold: int = Field(default=2, ge=1, le=100, description="Consecutive successes to recover.")
    reset_connection: bool = Field(
        default=True, description="Reset the VPN connection through the Azure SDK."
    )
    reset_gateway: bool = Field(default=False, description="Then reset the VPN gateway (slow, disruptive).")
    outbound_action: OutboundAction = Field(
        default=OutboundAction.BUFFERING,
        description="buffering (keep in the outbox) or backup (backup route).",
    )
    backup_url: str | None = Field(
        default=None, max_length=2048, pattern=_URL, description="Backup route URL."
    )
    cooldown_seconds: int = Field(
        default=300, ge=0, le=86_400, description="Minimum seconds between actions."
    )
    max_actions_per_hour: int = Field(default=4, ge=1, le=60, description="Actions per hour at most.")
    webhook_url: str | None = Field(
        default=None, max_length=2048, pattern=_URL, description="Notify this URL."
    )


class VpnLinkSpec(ApiModel):
    """Desired state of a VPN link."""

    azure: AzureConnection = Field(description="The Azure side of the link.")
    probes: ProbeSettings = Field(description="Probes across the tunnel.")
    failover: FailoverPolicy = Field(default_factory=FailoverPolicy, description="Failover policy.")


class TunnelStatus(ApiModel):
    name: str = Field(description="Tunnel (connection) name.")
    connection_status: str | None = Field(default=None, description="Azure's status of the tunnel.")
    ingress_bytes: int | None = Field(default=None, ge=0, description="Bytes received.")
    egress_bytes: int | None = Field(default=None, ge=0, description="Bytes sent.")
    last_connection_established: str | None = Field(
        default=None, description="When Azure last established the tunnel (Azure's text, as given)."
    )


class AzureStatus(ApiModel):
    connection_status: str | None = Field(
        default=None, description="Connected, Connecting, NotConnected, Unknown."
    )
    tunnels: list[TunnelStatus] | None = Field(default=None, description="Per-tunnel state.")
    ingress_bytes: int | None = Field(default=None, ge=0, description="Bytes received over the connection.")
    egress_bytes: int | None = Field(default=None, ge=0, description="Bytes sent over the connection.")
    gateway_provisioning_state: str | None = Field(
        default=None, description="Provisioning state of the gateway."
    )
    observed_at: dt.datetime | None = Field(
        default=None, description="When Azure was last read successfully."
    )
    error_reason: str | None = Field(
        default=None, description="Why the last read failed; empty when it did not."
    )
    error_message: str | None = Field(default=None, description="The failed read, for people.")


class ProbeResult(ApiModel):
    target: str = Field(description="host:port probed.")
    ok: bool = Field(description="Whether the last probe succeeded.")
    latency_ms: float | None = Field(default=None, ge=0, description="Connect latency, milliseconds.")
    error: str | None = Field(default=None, description="Why the probe failed.")


class FailoverRecord(ApiModel):
    time: dt.datetime = Field(description="When the action started.")
    action: str = Field(
        description="ResetConnection, ResetGateway, SwitchOutbound, RestoreOutbound or Notify."
    )
    result: str = Field(description="Started (in flight), Succeeded or Failed.")
    target: str | None = Field(
        default=None, description="Outbound mode for switches, down or recovered for notices."
    )
    message: str | None = Field(default=None, max_length=1024, description="Details.")


class ActionRecord(FailoverRecord):
    """One failover action; the history makes cooldowns and the hourly cap survive restarts."""


class VpnLinkStatus(ApiModel):
    """Observed state of the link (written by the VpnLink controller)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)

    observed_generation: int | None = Field(
        default=None, ge=0, description="Last metadata.generation acted on."
    )
    conditions: list[Condition] | None = conditions_field()
    health: LinkHealth | None = Field(default=None, description="Healthy, Degraded, Down or Unknown.")
    azure: AzureStatus | None = Field(default=None, description="What Azure reports.")
    probes: list[ProbeResult] | None = Field(default=None, description="Last probe result per target.")
    consecutive_failures: int | None = Field(default=None, ge=0, description="Failed probe rounds in a row.")
    consecutive_successes: int | None = Field(default=None, ge=0, description="Good probe rounds in a row.")
    last_failover: FailoverRecord | None = Field(default=None, description="The last failover action.")
    action_history: list[ActionRecord] | None = Field(
        default=None, max_length=200, description="Recent actions (24 hours, bounded)."
    )
    health_since: dt.datetime | None = Field(default=None, description="When health last changed.")
    outbound: OutboundState | None = Field(
        default=None, description="The outbound path the dependent strategies were told to use."
    )
    failover_held_back: str | None = Field(
        default=None, description="Why a wanted reset is held back: CooldownActive, ActionCapReached."
    )
    last_check: dt.datetime | None = Field(default=None, description="When the link was last checked.")
    reasons: list[str] | None = Field(
        default=None, max_length=64, description="Why the last check judged the link as it did."
    )


VPNLINK_KIND = KindInfo(
    kind="VpnLink",
    plural="vpnlinks",
    singular="vpnlink",
    short_names=("vpn", "vl"),
    spec=VpnLinkSpec,
    status=VpnLinkStatus,
    description="The site-to-site VPN to Azure: probes across the tunnel and a failover policy.",
    printer_columns=(
        READY_COLUMN,
        PrinterColumn("Health", "string", ".status.health", "Healthy, Degraded, Down, Unknown."),
        PrinterColumn("Azure", "string", ".status.azure.connectionStatus", "Azure connection status."),
        PrinterColumn("Probe", "boolean", ".status.probes[0].ok", "Whether the first probe target answers."),
        PrinterColumn(
            "Failures", "integer", ".status.consecutiveFailures", "Consecutive failed probe rounds."
        ),
        PrinterColumn("Last-Failover", "date", ".status.lastFailover.time", "When failover last acted."),
        AGE_COLUMN,
    ),
)
