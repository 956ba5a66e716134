from __future__ import annotations

import datetime as dt

from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.render import (
    GatewayTarget,
    LinkState,
    default_client_id_base,
    gateway_host,
    render_runtime_config,
)
from spyops.schemas.runtime_config import OutboundMode, RuntimeConfig, TradingState

GW = GatewayTarget(gateway_host("paper", "trading"), 4002, "paper")


def spec(**fields: object) -> TradingStrategySpec:
    return TradingStrategySpec.model_validate({"gatewayRef": {"name": "paper"}, **fields})


def test_render_maps_every_section() -> None:
    config = render_runtime_config(
        "trading",
        "alpha",
        spec(
            risk={"maxOpenPositions": 2, "tradingHours": {"start": "10:00", "end": "15:00"}},
            execution={"orderType": "LMT", "limitOffset": 0.05},
            detector={"rules": {"b": True, "a": False}, "strikeWindow": 10},
            tradingState="REDUCING",
            clientIdBase=500,
        ),
        GW,
        None,
    )
    assert isinstance(config, RuntimeConfig)
    assert config.strategy == "trading/alpha"
    assert config.gateway.host == "paper-0.paper.trading.svc"
    assert config.gateway.client_id_base == 500
    assert config.risk.max_open_positions == 2
    assert config.risk.trading_hours.start == dt.time(10, 0)
    assert config.execution.limit_offset == 0.05
    assert list(config.detector.rules) == ["a", "b"]
    assert config.trading_state == TradingState.REDUCING
    assert config.lease_name == "alpha-leader"
    assert config.detector_stream_url == "http://alpha-detector.trading.svc:8090"
    assert RuntimeConfig.model_validate_json(config.to_json()) == config


def test_render_is_deterministic() -> None:
    first = render_runtime_config("trading", "alpha", spec(), GW, None).to_json()
    second = render_runtime_config("trading", "alpha", spec(), GW, None).to_json()
    assert first == second


def test_client_id_block_is_stable_and_in_range() -> None:
    base = default_client_id_base("trading", "alpha")
    assert base == default_client_id_base("trading", "alpha")
    assert base >= 0
    assert base + 11 <= 10_000


def test_outbound_follows_the_link_controllers_decision() -> None:
    # The VpnLink controller decides the path (after its failover policy says so); health alone does not.
    down_not_yet_switched = LinkState("Down", "direct", "")
    down_buffer = LinkState("Down", "buffering", "")
    down_backup = LinkState("Down", "backup", "https://backup.example")
    recovered = LinkState("Healthy", "direct", "https://backup.example")
    s = spec(outbound={"backendUrl": "https://backend.example"})
    assert render_runtime_config("t", "a", s, GW, None).outbound.mode == OutboundMode.DIRECT
    assert render_runtime_config("t", "a", s, GW, recovered).outbound.mode == OutboundMode.DIRECT
    assert render_runtime_config("t", "a", s, GW, down_not_yet_switched).outbound.mode == OutboundMode.DIRECT
    assert render_runtime_config("t", "a", s, GW, down_buffer).outbound.mode == OutboundMode.BUFFERING
    assert (
        render_runtime_config("t", "a", s, GW, LinkState("Down", "bogus", "")).outbound.mode
        == OutboundMode.DIRECT
    )
    backup = render_runtime_config("t", "a", s, GW, down_backup).outbound
    assert backup.mode == OutboundMode.BACKUP
    assert backup.backup_url == "https://backup.example"
