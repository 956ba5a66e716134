"""IBKRGateway: one IB Gateway (or the project's TWS-protocol simulator) for the strategies of a namespace."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

from spyops.operator.api.common import (
    AGE_COLUMN,
    DNS_SUBDOMAIN,
    HH_MM,
    IMAGE,
    QUANTITY,
    READY_COLUMN,
    SECRET_KEY,
    ApiModel,
    Condition,
    KindInfo,
    PrinterColumn,
    Resources,
    cel,
    conditions_field,
    quantity_rules,
    tz_database_name,
    validations,
)

DEFAULT_GATEWAY_IMAGE = "ghcr.io/gnzsnz/ib-gateway:stable"
DEFAULT_API_PORT = 4002


class TradingMode(StrEnum):
    PAPER = "paper"
    LIVE = "live"


class GatewayPhase(StrEnum):
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    READY = "Ready"
    DEGRADED = "Degraded"
    STALLED = "Stalled"


class CredentialsSecretRef(ApiModel):
    """The Secret holding the IBKR login; the values never appear in the spec, the status or the pod spec."""

    name: str = Field(
        min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="Secret name (same namespace)."
    )
    username_key: str = Field(
        default="username",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the user name.",
    )
    password_key: str = Field(
        default="password",
        min_length=1,
        max_length=253,
        pattern=SECRET_KEY,
        description="Key of the password.",
    )


class SimulatorSettings(ApiModel):
    """Run the project's TWS-protocol gateway simulator instead of IB Gateway (demo, tests, no account)."""

    scenario: str = Field(
        default="calm",
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Market scenario the simulator plays: one of its built-in scenarios (calm, anomalies, demo-day).",
    )
    seed: int = Field(default=1, ge=0, le=2_147_483_647, description="Random seed, for reproducible markets.")
    control_port: int = Field(
        default=8081, ge=1024, le=65535, description="Port of the simulator's control and health HTTP API."
    )


class RestartWindow(ApiModel):
    """IB Gateway must restart daily; this is when (the image's auto-restart time)."""

    time: str = Field(default="23:45", pattern=HH_MM, description="Local time HH:MM of the daily restart.")
    timezone: str = Field(
        default="America/New_York",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$",
        description="IANA time zone of the restart time.",
    )

    # Checked by the operator before rendering (CEL has no tz database): a bad name stalls the gateway.
    _known_timezone = field_validator("timezone")(tz_database_name)


class StorageSettings(ApiModel):
    """Size and StorageClass of a PersistentVolumeClaim (the gateway's settings volume; a strategy's
    journal and outbox volumes)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=validations(*quantity_rules("size", positive=True)),
    )

    size: str = Field(default="1Gi", pattern=QUANTITY, max_length=32, description="PVC size, e.g. 1Gi.")
    storage_class_name: str | None = Field(
        default=None,
        max_length=253,
        pattern=DNS_SUBDOMAIN,
        description="StorageClass; cluster default if unset.",
    )


class IBKRGatewaySpec(ApiModel):
    """Desired state of an IB Gateway."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=validations(
            cel(
                "has(self.simulator) || has(self.credentialsSecretRef)",
                "credentialsSecretRef is required unless simulator is set",
                ".credentialsSecretRef",
                "FieldValueRequired",
            ),
            cel(
                "self.tradingMode != 'live' || !has(self.simulator)",
                "tradingMode live needs a real IB Gateway: remove simulator",
                ".tradingMode",
            ),
        ),
    )

    trading_mode: TradingMode = Field(default=TradingMode.PAPER, description="paper or live account.")
    credentials_secret_ref: CredentialsSecretRef | None = Field(
        default=None, description="Secret with the IBKR user name and password (never inline)."
    )
    image: str = Field(
        default=DEFAULT_GATEWAY_IMAGE,
        max_length=512,
        pattern=IMAGE,
        description="IB Gateway container image.",
    )
    simulator: SimulatorSettings | None = Field(
        default=None, description="When set, run the project's gateway simulator image instead of IB Gateway."
    )
    api_port: int = Field(
        default=DEFAULT_API_PORT, ge=1024, le=65535, description="TWS API port (4002 is IB Gateway paper)."
    )
    restart_window: RestartWindow = Field(
        default_factory=RestartWindow, description="Daily restart time of IB Gateway."
    )
    storage: StorageSettings = Field(default_factory=StorageSettings, description="Settings volume.")
    resources: Resources | None = Field(
        default=None, description="Container resources; sensible defaults if unset."
    )


class IBKRGatewayStatus(ApiModel):
    """Observed state of an IB Gateway (written by the operator; serverVersion/lastRestart by the API probe)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)

    observed_generation: int | None = Field(
        default=None, ge=0, description="Last metadata.generation acted on."
    )
    conditions: list[Condition] | None = conditions_field()
    phase: GatewayPhase | None = Field(default=None, description="One-word summary of the state.")
    mode: str | None = Field(default=None, description="simulator, paper or live: what actually runs.")
    replicas: int | None = Field(default=None, ge=0, description="Gateway pods that exist.")
    ready_replicas: int | None = Field(
        default=None, ge=0, description="Gateway pods that passed the API check."
    )
    endpoint: str | None = Field(default=None, description="host:port strategies connect to.")
    server_version: int | None = Field(
        default=None, ge=0, description="TWS API server version of the handshake."
    )
    last_restart: dt.datetime | None = Field(default=None, description="When the gateway last (re)started.")


GATEWAY_KIND = KindInfo(
    kind="IBKRGateway",
    plural="ibkrgateways",
    singular="ibkrgateway",
    short_names=("ibgw", "gw"),
    spec=IBKRGatewaySpec,
    status=IBKRGatewayStatus,
    description="An Interactive Brokers gateway (or the spyops simulator) that strategies trade through.",
    printer_columns=(
        PrinterColumn("Mode", "string", ".status.mode", "simulator, paper or live."),
        READY_COLUMN,
        PrinterColumn("Phase", "string", ".status.phase", "One-word state."),
        PrinterColumn("Version", "integer", ".status.serverVersion", "TWS API server version."),
        PrinterColumn("Endpoint", "string", ".status.endpoint", "host:port.", priority=1),
        AGE_COLUMN,
    ),
)
