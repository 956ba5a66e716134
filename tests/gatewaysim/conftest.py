"""Fixtures: a simulator on free loopback ports, and real ib_async (or ib_insync) clients against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from spyops.gatewaysim.gateway import GatewayConfig
from spyops.gatewaysim.server import GatewayServer, ServerSettings
from tests.gatewaysim.chain_source import ScriptedChain
from tests.gatewaysim.ib_client import IB

ClientFactory = Callable[[int], Awaitable[IB]]


@pytest.fixture
def chain() -> ScriptedChain:
    return ScriptedChain()


@pytest.fixture
def gateway_config() -> GatewayConfig:
    return GatewayConfig()


@pytest.fixture
async def server(chain: ScriptedChain, gateway_config: GatewayConfig) -> AsyncIterator[GatewayServer]:
    sim = GatewayServer(chain, settings=ServerSettings(port=0, control_port=0), config=gateway_config)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def connect(server: GatewayServer) -> AsyncIterator[ClientFactory]:
    clients: list[IB] = []

    async def factory(client_id: int) -> IB:
        ib = IB()
        clients.append(ib)
        await ib.connectAsync("127.0.0.1", server.port, clientId=client_id, timeout=10)
        return ib

    try:
        yield factory
    finally:
        for ib in clients:
            ib.disconnect()
