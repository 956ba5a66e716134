"""The spyops.io/v1alpha1 API: pydantic models are the one source of truth for the CRDs in ``crds/``."""

from spyops.operator.api.common import API_VERSION, GROUP, VERSION
from spyops.operator.api.gateway import IBKRGatewaySpec, IBKRGatewayStatus
from spyops.operator.api.strategy import TradingStrategySpec, TradingStrategyStatus
from spyops.operator.api.vpnlink import VpnLinkSpec, VpnLinkStatus

__all__ = [
    "API_VERSION",
    "GROUP",
    "VERSION",
    "IBKRGatewaySpec",
    "IBKRGatewayStatus",
    "TradingStrategySpec",
    "TradingStrategyStatus",
    "VpnLinkSpec",
    "VpnLinkStatus",
]
