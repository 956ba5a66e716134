"""TradingStrategy: a detector and a set of bot replicas trading one underlying through one gateway."""

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
    READY_COLUMN,
    SECRET_KEY,
    ApiModel,
    Condition,
    KindInfo,
    LocalObjectReference,
    PrinterColumn,
    Resources,
    cel,
    conditions_field,
    tz_database_name,
    validations,
)
from spyops.operator.api.gateway import StorageSettings
from spyops.schemas.runtime_config import TradingState
from spyops.schemas.signals import AnomalyKind

# The detector refuses a config naming a rule it does not run, so the API server refuses it first.
DETECTOR_RULES = tuple(kind.value for kind in AnomalyKind)


def _model_config(*rules: dict[str, str]) -> ConfigDict:
    extra = validations(*rules) if rules else None
    return ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, json_schema_extra=extra
    )


class ExpiryPolicy(StrEnum):
    ZERO_DTE = "0DTE"


class OrderType(StrEnum):
    LMT = "LMT"
    MKT = "MKT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    IOC = "IOC"
    GTC = "GTC"


class StrategyPhase(StrEnum):
    PENDING = "Pending"
    PROGRESSING = "Progressing"
    RUNNING = "Running"
    HALTED = "Halted"
    SUSPENDED = "Suspended"
    DEGRADED = "Degraded"
    STALLED = "Stalled"


class DetectorSpec(ApiModel):
    """What the detector looks for, and how much of the chain it watches."""

    model_config = _model_config(
        cel(
            "4 * self.strikeWindow + 1 <= self.maxMarketDataLines",
            "strikeWindow needs 4*strikeWindow+1 market-data lines (calls and puts each side plus the "
            "underlying), more than maxMarketDataLines",
            ".strikeWindow",
        ),
        cel(
            "self.rules.all(name, name in [" + ", ".join(f"'{r}'" for r in DETECTOR_RULES) + "])",
            "rules names a rule the detector does not have; known rules: " + ", ".join(DETECTOR_RULES),
            ".rules",
        ),
    )

    rules: dict[str, bool] = Field(
        default_factory=dict,
        max_length=len(DETECTOR_RULES),
        description="Rule name -> enabled; rules not listed are enabled.",
    )
    min_edge: float = Field(
        default=5.0, ge=0, le=100_000, description="Dollars per unit after costs to signal."
    )
    fee_per_contract: float = Field(
        default=0.65, ge=0, le=100, description="Commission assumed per contract."
    )
    iv_zscore: float = Field(
        default=4.0, gt=0, le=100, description="Robust z-score beyond which an IV is an outlier."
    )
    stale_after_ms: int = Field(
        default=2_000, ge=100, le=600_000, description="A quote older than this is stale."
    )
    max_spread_ratio: float = Field(
        default=0.5, gt=0, le=10, description="Spread/mid beyond which a quote blew out."
    )
    clear_after_snapshots: int = Field(
        default=3, ge=1, le=1000, description="Clean snapshots before re-firing."
    )
    max_market_data_lines: int = Field(
        default=100, ge=3, le=10_000, description="IB market-data line budget."
    )
    strike_window: int = Field(
        default=24, ge=1, le=500, description="Strikes each side of the money to watch."
    )


class TradingHoursSpec(ApiModel):
    """When orders may be placed (local time of the exchange)."""

    model_config = _model_config(
        cel("self.start < self.end", "tradingHours.start must be before tradingHours.end", ".start")
    )

    timezone: str = Field(
        default="America/New_York",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$",
        description="IANA time zone.",
    )
    start: str = Field(default="09:30", pattern=HH_MM, description="First minute orders may go out, HH:MM.")
    end: str = Field(default="15:55", pattern=HH_MM, description="Last minute orders may go out, HH:MM.")

    # Checked by the operator before rendering (CEL has no tz database): a bad name stalls the strategy.
    _known_timezone = field_validator("timezone")(tz_database_name)


class RiskSpec(ApiModel):
    """Hard limits the bot enforces before every order; changes apply without a restart."""

    max_open_positions: int = Field(default=10, ge=0, le=1000, description="Open positions at most.")
    max_contracts_per_order: int = Field(
        default=10, ge=1, le=1000, description="Contracts in one order at most."
    )
    max_notional_per_order: float = Field(
        default=5_000.0,
        gt=0,
        le=10_000_000,
        description="Dollars (price x 100 x quantity) per order at most.",
    )
    max_daily_loss: float = Field(
        default=1_000.0,
        gt=0,
        le=10_000_000,
        description="Dollars lost in a day (realized + marked) before halting.",
    )
    max_orders_per_minute: int = Field(default=30, ge=1, le=600, description="Orders per minute at most.")
    max_messages_per_second: int = Field(
        default=45, ge=1, le=50, description="Messages per second to the gateway (IB caps at 50)."
    )
    trading_hours: TradingHoursSpec = Field(default_factory=TradingHoursSpec, description="Order window.")


class ExecutionSpec(ApiModel):
    """How orders are placed."""

    model_config = _model_config(
        cel(
            "self.orderType == 'LMT' || self.limitOffset == 0.0",
            "limitOffset applies only to LMT orders; set it to 0 for MKT",
            ".limitOffset",
        )
    )

    order_type: OrderType = Field(default=OrderType.LMT, description="LMT (limit) or MKT (market).")
    limit_offset: float = Field(
        default=0.0, ge=0, le=100, description="Dollars added to buys, taken from sells."
    )
    time_in_force: TimeInForce = Field(default=TimeInForce.DAY, description="DAY, IOC or GTC.")
    order_timeout_seconds: float = Field(
        default=5.0, gt=0, le=3600, description="Unfilled orders are cancelled after this many seconds."
    )
    cooldown_seconds: float = Field(
        default=1.0, ge=0, le=3600, description="Minimum time between trades per contract."
    )


class SecretKeyRef(ApiModel):
    """One key of a Secret in the same namespace."""

    name: str = Field(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN, description="Secret name.")
    key: str = Field(min_length=1, max_length=253, pattern=SECRET_KEY, description="Key in the Secret.")


class OutboundSpec(ApiModel):
    """Where signals and executions go (the backend across the VPN)."""

    model_config = _model_config(
        cel(
            "!has(self.backupUrl) || size(self.backupUrl) == 0 || size(self.backendUrl) > 0",
            "backupUrl needs backendUrl",
            ".backupUrl",
        )
    )

    backend_url: str = Field(
        default="",
        max_length=2048,
        pattern=r"^(https?://[^\s]+)?$",
        description="Backend base URL; empty = none.",
    )
    backup_url: str = Field(
        default="",
        max_length=2048,
        pattern=r"^(https?://[^\s]+)?$",
        description="Backend URL via the backup route.",
    )
    token_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key with the backend token."
    )


class TracingExporter(StrEnum):
    NONE = "none"
    OTLP = "otlp"
    AZURE_MONITOR = "azureMonitor"


class OtlpProtocol(StrEnum):
    HTTP = "http/protobuf"
    GRPC = "grpc"


class TracingSpec(ApiModel):
    """OpenTelemetry traces of the detector and the bots: off, to an OTLP collector, or to Application Insights."""

    model_config = _model_config(
        cel(
            "self.exporter != 'otlp' || (has(self.otlpEndpoint) && size(self.otlpEndpoint) > 0)",
            "exporter otlp needs otlpEndpoint",
            ".otlpEndpoint",
        ),
        cel(
            "self.exporter != 'azureMonitor' || has(self.connectionStringSecretRef)",
            "exporter azureMonitor needs connectionStringSecretRef",
            ".connectionStringSecretRef",
        ),
    )

    exporter: TracingExporter = Field(
        default=TracingExporter.NONE,
        description="none (no tracing, no cost), otlp (a collector) or azureMonitor (Application Insights).",
    )
    otlp_endpoint: str = Field(
        default="",
        max_length=2048,
        pattern=r"^(https?://[^\s]+)?$",
        description="Collector base URL, e.g. http://otel-collector:4318 (http/protobuf) or :4317 (grpc).",
    )
    otlp_protocol: OtlpProtocol = Field(default=OtlpProtocol.HTTP, description="http/protobuf or grpc.")
    sampling_ratio: float = Field(
        default=1.0,
        ge=0,
        le=1,
        description="Share of traces kept; traces of tradable signals (and their orders) are always kept.",
    )
    connection_string_secret_ref: SecretKeyRef | None = Field(
        default=None, description="Secret key with the Application Insights connection string."
    )


class WorkloadResources(ApiModel):
    """Container resources of the detector and the bot."""

    detector: Resources | None = Field(default=None, description="Detector container resources.")
    bot: Resources | None = Field(default=None, description="Bot container resources.")


class TradingStrategySpec(ApiModel):
    """Desired state of a trading strategy."""

    model_config = _model_config(
        cel(
            "!has(self.clientIdBase) || self.clientIdBase + self.replicas + 1 < 10000",
            "clientIdBase + replicas + 1 must stay below 10000 (one TWS client id per process)",
            ".clientIdBase",
        ),
        cel(
            "self.underlying == oldSelf.underlying",
            "underlying is immutable; create a new TradingStrategy instead",
            ".underlying",
            "FieldValueForbidden",
        ),
    )

    underlying: str = Field(
        default="SPY",
        min_length=1,
        max_length=10,
        pattern=r"^[A-Z][A-Z0-9.]{0,9}$",
        description="Underlying symbol.",
    )
    expiry_policy: ExpiryPolicy = Field(default=ExpiryPolicy.ZERO_DTE, description="Which expiry: 0DTE.")
    gateway_ref: LocalObjectReference = Field(
        description="The IBKRGateway (same namespace) to trade through."
    )
    cloud_link_ref: LocalObjectReference | None = Field(
        default=None,
        description="The VpnLink (same namespace) carrying this strategy's signals and executions to Azure.",
    )
    detector: DetectorSpec = Field(default_factory=DetectorSpec, description="Detector settings.")
    risk: RiskSpec = Field(default_factory=RiskSpec, description="Risk limits (hot-reloaded).")
    execution: ExecutionSpec = Field(default_factory=ExecutionSpec, description="Order placement.")
    outbound: OutboundSpec = Field(default_factory=OutboundSpec, description="Backend connection.")
    tracing: TracingSpec = Field(
        default_factory=TracingSpec, description="OpenTelemetry tracing of the detector and the bots."
    )
    replicas: int = Field(default=3, ge=1, le=10, description="Bot replicas; one holds the Lease and trades.")
    suspend: bool = Field(default=False, description="Scale the detector and bots to zero; keep the config.")
    trading_state: TradingState = Field(
        default=TradingState.ACTIVE, description="Kill switch: ACTIVE, REDUCING (close only) or HALTED."
    )
    image: str | None = Field(
        default=None, max_length=512, pattern=IMAGE, description="spyops image override for detector and bot."
    )
    client_id_base: int | None = Field(
        default=None,
        ge=0,
        le=9_998,
        description="TWS client id of the detector; bots use base+1+ordinal. Derived from the name if unset.",
    )
    lease_duration_seconds: int = Field(
        default=15, ge=5, le=300, description="Leader Lease duration of the bots."
    )
    resources: WorkloadResources = Field(
        default_factory=WorkloadResources, description="Container resources."
    )
    storage: StorageSettings = Field(
        default_factory=StorageSettings,
        description=(
            "Persistent volumes the operator claims for the strategy: one for the bots (each replica's "
            "order journal and outbox, in a slot a replacement pod adopts) and one for the detector's "
            "outbox. A claim that cannot bind shows on the status (VolumePending)."
        ),
    )


class TradingStrategyStatus(ApiModel):
    """Observed state. The operator owns the first block; the bots patch the second block themselves."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)

    # operator-owned
    observed_generation: int | None = Field(
        default=None, ge=0, description="Last metadata.generation acted on."
    )
    conditions: list[Condition] | None = conditions_field()
    phase: StrategyPhase | None = Field(default=None, description="One-word summary of the state.")
    replicas: int | None = Field(default=None, ge=0, description="Bot pods that exist.")
    ready_replicas: int | None = Field(default=None, ge=0, description="Bot pods that are ready.")
    ready_bots: str | None = Field(default=None, description="ready/desired bot replicas, for kubectl get.")
    detector_ready: bool | None = Field(default=None, description="Whether the detector is available.")
    gateway_endpoint: str | None = Field(default=None, description="host:port of the gateway in the config.")
    outbound_mode: str | None = Field(
        default=None, description="direct, buffering or backup (from the VpnLink)."
    )
    # bot-owned (the leader patches these through the status subresource)
    leader: str | None = Field(default=None, description="Pod that holds the Lease and trades.")
    orders_today: int | None = Field(default=None, ge=0, description="Orders placed today.")
    open_positions: int | None = Field(default=None, ge=0, description="Open positions now.")
    realized_pnl: float | None = Field(default=None, description="Realized P&L today, dollars.")
    last_signal_time: dt.datetime | None = Field(default=None, description="Event time of the last signal.")
    enforced_trading_state: TradingState | None = Field(
        default=None, description="The trading state the leader enforces (may be stricter than spec)."
    )


OPERATOR_STATUS_FIELDS = (
    "observedGeneration",
    "conditions",
    "phase",
    "replicas",
    "readyReplicas",
    "readyBots",
    "detectorReady",
    "gatewayEndpoint",
    "outboundMode",
)
BOT_STATUS_FIELDS = (
    "leader",
    "ordersToday",
    "openPositions",
    "realizedPnl",
    "lastSignalTime",
    "enforcedTradingState",
)

STRATEGY_KIND = KindInfo(
    kind="TradingStrategy",
    plural="tradingstrategies",
    singular="tradingstrategy",
    short_names=("ts", "strat"),
    spec=TradingStrategySpec,
    status=TradingStrategyStatus,
    description="A SPY 0DTE anomaly strategy: a detector plus bot replicas under risk limits.",
    printer_columns=(
        READY_COLUMN,
        PrinterColumn("Phase", "string", ".status.phase", "One-word state."),
        PrinterColumn("State", "string", ".spec.tradingState", "Kill switch: ACTIVE, REDUCING, HALTED."),
        PrinterColumn("Bots", "string", ".status.readyBots", "Ready/desired bot replicas."),
        PrinterColumn("Leader", "string", ".status.leader", "Pod that trades."),
        PrinterColumn("Orders", "integer", ".status.ordersToday", "Orders today."),
        PrinterColumn("P&L", "number", ".status.realizedPnl", "Realized P&L today."),
        PrinterColumn("Gateway", "string", ".spec.gatewayRef.name", "IBKRGateway.", priority=1),
        AGE_COLUMN,
    ),
)
