"""TradingStrategy spec + its gateway + its VpnLink state -> the RuntimeConfig the pods read.

Pure: the same inputs always give the same config (and so the same ConfigMap, no rewrite).
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass

from spyops.operator.api.strategy import TradingStrategySpec
from spyops.schemas.runtime_config import (
    DetectorSettings,
    ExecutionSettings,
    GatewayEndpoint,
    OutboundMode,
    OutboundSettings,
    RiskLimits,
    RuntimeConfig,
    TradingHours,
)

BACKEND_TOKEN_DIR = "/var/run/secrets/spyops/backend"  # noqa: S105 - a mount path
DETECTOR_SIGNAL_PORT = 8090
# Client ids: detector = base, bot replica i = base + 1 + i; 10 bots at most, so 11 ids a strategy.
_CLIENT_ID_SLOTS = 12
_CLIENT_ID_BLOCKS = 800


@dataclass(frozen=True)
class GatewayTarget:
    """Where a gateway listens and what account mode it runs."""

    host: str
    port: int
    trading_mode: str


@dataclass(frozen=True)
class LinkState:
    """What a strategy needs of its VpnLink: the outbound path its controller decided, and the
    backup route of its failover policy."""

    health: str
    outbound: str  # direct | buffering | backup, as the VpnLink controller decided
    backup_url: str


def gateway_host(gateway_name: str, namespace: str) -> str:
    """The stable DNS name of the gateway pod (StatefulSet pod behind the headless Service)."""
    return f"{gateway_name}-0.{gateway_name}.{namespace}.svc"


def default_client_id_base(namespace: str, name: str) -> int:
    """A stable block of TWS client ids derived from the strategy's identity."""
    block = zlib.crc32(f"{namespace}/{name}".encode()) % _CLIENT_ID_BLOCKS
    return block * _CLIENT_ID_SLOTS


def lease_name(strategy: str) -> str:
    return f"{strategy}-leader"


def detector_service_name(strategy: str) -> str:
    return f"{strategy}-detector"


def outbound_mode(link: LinkState | None) -> OutboundMode:
    """The VpnLink controller's decision (it switches after its failover policy says so, not on
    the first failed probe); direct when there is no link or no decision yet."""
    if link is None:
        return OutboundMode.DIRECT
    try:
        return OutboundMode(link.outbound)
    except ValueError:
        return OutboundMode.DIRECT


def _hhmm(text: str) -> dt.time:
    hours, minutes = text.split(":")
    return dt.time(int(hours), int(minutes))


def render_runtime_config(
    namespace: str,
    name: str,
    spec: TradingStrategySpec,
    gateway: GatewayTarget,
    link: LinkState | None,
) -> RuntimeConfig:
    hours = spec.risk.trading_hours
    backup_url = spec.outbound.backup_url or (link.backup_url if link else "")
    token_ref = spec.outbound.token_secret_ref
    return RuntimeConfig(
        strategy=f"{namespace}/{name}",
        underlying=spec.underlying,
        expiry_policy=spec.expiry_policy.value,
        gateway=GatewayEndpoint(
            host=gateway.host,
            port=gateway.port,
            client_id_base=(
                spec.client_id_base
                if spec.client_id_base is not None
                else default_client_id_base(namespace, name)
            ),
            trading_mode=gateway.trading_mode,
        ),
        detector=DetectorSettings(
            rules=dict(sorted(spec.detector.rules.items())),
            min_edge=spec.detector.min_edge,
            fee_per_contract=spec.detector.fee_per_contract,
            iv_zscore=spec.detector.iv_zscore,
            stale_after_ms=spec.detector.stale_after_ms,
            max_spread_ratio=spec.detector.max_spread_ratio,
            clear_after_snapshots=spec.detector.clear_after_snapshots,
            max_market_data_lines=spec.detector.max_market_data_lines,
            strike_window=spec.detector.strike_window,
        ),
        risk=RiskLimits(
            max_open_positions=spec.risk.max_open_positions,
            max_contracts_per_order=spec.risk.max_contracts_per_order,
            max_notional_per_order=spec.risk.max_notional_per_order,
            max_daily_loss=spec.risk.max_daily_loss,
            max_orders_per_minute=spec.risk.max_orders_per_minute,
            max_messages_per_second=spec.risk.max_messages_per_second,
            trading_hours=TradingHours(
                timezone=hours.timezone, start=_hhmm(hours.start), end=_hhmm(hours.end)
            ),
        ),
        execution=ExecutionSettings(
            order_type=spec.execution.order_type.value,
            limit_offset=spec.execution.limit_offset,
            time_in_force=spec.execution.time_in_force.value,
            order_timeout_seconds=spec.execution.order_timeout_seconds,
            cooldown_seconds=spec.execution.cooldown_seconds,
        ),
        trading_state=spec.trading_state,
        outbound=OutboundSettings(
            mode=outbound_mode(link),
            backend_url=spec.outbound.backend_url,
            backup_url=backup_url,
            token_file=f"{BACKEND_TOKEN_DIR}/{token_ref.key}" if token_ref else "",
        ),
        lease_name=lease_name(name),
        lease_duration_seconds=spec.lease_duration_seconds,
        detector_stream_url=f"http://{detector_service_name(name)}.{namespace}.svc:{DETECTOR_SIGNAL_PORT}",
    )
