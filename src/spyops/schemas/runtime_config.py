"""The runtime configuration the operator renders into a strategy's ConfigMap.

The detector and bot read it from the mounted file (``config.json``) and reload it
when it changes, so risk limits, trading state and the outbound path take effect
without a restart. The operator builds it from the TradingStrategy spec (plus the
gateway and VpnLink it refers to); this module is the one definition both sides use.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

CONFIG_FILE_NAME = "config.json"


class TradingState(StrEnum):
    """The kill switch. REDUCING lets only exposure-reducing orders through."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"


class OutboundMode(StrEnum):
    """How the edge sends signals and executions to the backend."""

    DIRECT = "direct"  # send through the VPN as they happen (via the outbox)
    BUFFERING = "buffering"  # keep everything in the outbox; send nothing
    BACKUP = "backup"  # send through the backup route


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GatewayEndpoint(_Frozen):
    host: str = Field(min_length=1, description="IB Gateway (or simulator) host name.")
    port: int = Field(ge=1, le=65535, description="TWS API port; 4002 is IB Gateway paper.")
    client_id_base: int = Field(
        default=100,
        ge=0,
        le=10_000,
        description="Detector uses this id; bot replicas use base + 1 + ordinal.",
    )
    trading_mode: str = Field(default="paper", pattern=r"^(paper|live)$")


class DetectorSettings(_Frozen):
    rules: dict[str, bool] = Field(
        default_factory=dict, description="Rule name -> enabled; rules not listed are enabled."
    )
    min_edge: float = Field(default=5.0, ge=0, description="Dollars per unit after costs to emit a signal.")
    fee_per_contract: float = Field(default=0.65, ge=0, description="Commission assumed per contract.")
    iv_zscore: float = Field(
        default=4.0, gt=0, description="Robust z-score beyond which an IV is an outlier."
    )
    stale_after_ms: int = Field(default=2_000, ge=100, description="A quote older than this is stale.")
    max_spread_ratio: float = Field(
        default=0.5, gt=0, description="Spread / mid beyond which a quote blew out."
    )
    clear_after_snapshots: int = Field(
        default=3, ge=1, description="Clean snapshots before an anomaly can fire again."
    )
    max_market_data_lines: int = Field(default=100, ge=3, description="IB market-data line budget.")
    strike_window: int = Field(default=24, ge=1, description="Strikes each side of the money to watch.")


class TradingHours(_Frozen):
    timezone: str = Field(default="America/New_York")
    start: dt.time = Field(default=dt.time(9, 30))
    end: dt.time = Field(default=dt.time(15, 55))

    @model_validator(mode="after")
    def _start_before_end(self) -> TradingHours:
        if self.start >= self.end:
            raise ValueError("trading hours: start must be before end")
        return self


class RiskLimits(_Frozen):
    max_open_positions: int = Field(default=10, ge=0)
    max_contracts_per_order: int = Field(default=10, ge=1)
    max_notional_per_order: float = Field(default=5_000.0, gt=0, description="Dollars (price x 100 x qty).")
    max_daily_loss: float = Field(default=1_000.0, gt=0, description="Dollars, realized + marked-to-market.")
    max_orders_per_minute: int = Field(default=30, ge=1)
    max_messages_per_second: int = Field(default=45, ge=1, le=50, description="Gateway budget (IB caps 50).")
    trading_hours: TradingHours = Field(default_factory=TradingHours)


class ExecutionSettings(_Frozen):
    order_type: str = Field(default="LMT", pattern=r"^(LMT|MKT)$")
    limit_offset: float = Field(default=0.0, ge=0, description="Dollars added to buys / taken from sells.")
    time_in_force: str = Field(default="DAY", pattern=r"^(DAY|IOC|GTC)$")
    order_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Unfilled orders are cancelled after."
    )
    cooldown_seconds: float = Field(
        default=1.0, ge=0, description="Minimum time between trades per contract."
    )


class OutboundSettings(_Frozen):
    mode: OutboundMode = Field(default=OutboundMode.DIRECT)
    backend_url: str = Field(default="", description="Backend base URL across the VPN; empty = no backend.")
    backup_url: str = Field(default="", description="Backend base URL through the backup route.")
    token_file: str = Field(default="", description="File holding the backend bearer token (from a Secret).")


class RuntimeConfig(_Frozen):
    """Everything a detector or bot process needs, in one file."""

    strategy: str = Field(pattern=r"^[a-z0-9-]+/[a-z0-9-]+$", description="namespace/name")
    underlying: str = Field(default="SPY", pattern=r"^[A-Z][A-Z0-9.]{0,9}$")
    expiry_policy: str = Field(default="0DTE", pattern=r"^0DTE$")
    gateway: GatewayEndpoint
    detector: DetectorSettings = Field(default_factory=DetectorSettings)
    risk: RiskLimits = Field(default_factory=RiskLimits)
    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    trading_state: TradingState = Field(default=TradingState.ACTIVE)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    lease_name: str = Field(
        min_length=1, description="coordination.k8s.io Lease the bot replicas contend for."
    )
    lease_duration_seconds: int = Field(default=15, ge=5, le=300)
    detector_stream_url: str = Field(
        default="", description="Where bots subscribe to the detector's signals."
    )

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True)


class RuntimeConfigError(ValueError):
    """The config file is missing or invalid; the message names the file and the field."""


def load_runtime_config(path: Path) -> RuntimeConfig:
    """Read and validate a rendered config file, with an error that names what was wrong."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeConfigError(f"cannot read runtime config {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise RuntimeConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RuntimeConfigError(
            f"{path}: not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    try:
        return RuntimeConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise RuntimeConfigError(f"{path}: invalid runtime config: {problems}") from exc
