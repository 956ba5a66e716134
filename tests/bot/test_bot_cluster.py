"""Bot replicas on the real API server: one trades, takeover on a leader kill, status on the CR.

Three ``spyops bot`` processes contend for the strategy's Lease, with a kubeconfig
that acts as the bot's ServiceAccount under the bot's narrow Role. The gateway
simulator and the signal stream are real; the leader is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from spyops.bot import order_refs
from spyops.cluster.testing import KubeCluster
from spyops.common.polling import until
from spyops.schemas import LegAction
from tests.bot.harness import (
    BotProcess,
    atm_strikes,
    contract,
    gateway_orders,
    make_signal,
    our_gateway_orders,
    runtime_config,
    signal_server,
    simulator,
    write_config,
)
from tests.bot.kube import bot_kubeconfig, create_strategy, ensure_crd, strategy_status

pytestmark = pytest.mark.cluster

LEASE_SECONDS = 6
NAME = "spy-0dte"


async def _leaders(bots: list[BotProcess]) -> list[str]:
    found = []
    for bot in bots:
        if bot.alive() and await bot.metric("spyops_bot_leader") == 1.0:
            found.append(bot.name)
    return found


async def test_three_replicas_one_trades_and_a_killed_leader_is_replaced_without_duplicates(
    kube_cluster: KubeCluster, namespace: str, tmp_path: Path
) -> None:
    ensure_crd(kube_cluster)
    create_strategy(kube_cluster, namespace, NAME)
    kubeconfig = bot_kubeconfig(kube_cluster, namespace, NAME, tmp_path / "bot.kubeconfig")
    strategy = f"{namespace}/{NAME}"
    async with simulator() as server, signal_server() as (log, url):
        config_path = tmp_path / "config.json"
        write_config(
            config_path,
            runtime_config(server.port, url, strategy=strategy, lease_duration_seconds=LEASE_SECONDS),
        )
        bots = [
            BotProcess(f"bot-{i}", tmp_path, config_path, kubeconfig=kubeconfig, namespace=namespace)
            for i in range(3)
        ]
        try:
            for bot in bots:
                bot.start(SPYOPS_BOT_ORDINAL=str(bots.index(bot)))
            for bot in bots:
                await bot.wait_ready(60)
            leaders: list[str] = []

            async def poll() -> None:
                leaders[:] = await _leaders(bots)

            await until(lambda: len(leaders) == 1, 30, poll=poll, what="one leader")
            # Followers stay hot: connected to the gateway with their own client ids.
            assert sorted(server.gateway.clients) == [101, 102, 103]

            [leader_name] = leaders
            leader = next(b for b in bots if b.name == leader_name)
            [strike, other] = atm_strikes(server, 2)
            first = make_signal(server, 1, [(contract(strike), LegAction.BUY)], strategy=strategy)
            await log.append(first)
            first_ref = order_refs.order_ref(strategy, first.id, 0)
            await until(
                lambda: [o["status"] for o in gateway_orders(server, first_ref)] == ["Filled"],
                20,
                what="fill",
            )
            assert {o["clientId"] for o in gateway_orders(server, first_ref)} == {101 + bots.index(leader)}

            status: dict[str, object] = {}

            def refresh() -> None:
                status.clear()
                status.update(strategy_status(kube_cluster, namespace, NAME))

            await until(
                lambda: status.get("leader") == leader_name and status.get("openPositions") == 1,
                20,
                poll=refresh,
                what="status from the leader",
            )
            assert status["ordersToday"] == 1
            assert status["enforcedTradingState"] == "ACTIVE"
            assert isinstance(status["realizedPnl"], int | float)
            assert str(status["lastSignalTime"]).endswith("Z")

            # Kill the leader; another replica must take over within the lease duration.
            leader.kill()
            killed_at = time.monotonic()
            await until(
                lambda: len(leaders) == 1 and leaders[0] != leader_name,
                LEASE_SECONDS + 10,
                poll=poll,
                what="a new leader",
            )
            takeover = time.monotonic() - killed_at
            print(f"takeover after SIGKILL of the leader: {takeover:.2f}s (lease {LEASE_SECONDS}s)")
            assert takeover <= LEASE_SECONDS + 1.0, (
                f"takeover took {takeover:.1f}s for a {LEASE_SECONDS}s lease"
            )
            [new_leader] = leaders

            # The old signal arrives again (at-least-once); a new one is traded by the new leader.
            await log.append(first)
            second = make_signal(server, 2, [(contract(other), LegAction.BUY)], strategy=strategy)
            await log.append(second)
            second_ref = order_refs.order_ref(strategy, second.id, 0)
            await until(
                lambda: bool(gateway_orders(server, second_ref)), 20, what="order from the new leader"
            )
            new_bot = next(b for b in bots if b.name == new_leader)
            assert {o["clientId"] for o in gateway_orders(server, second_ref)} == {101 + bots.index(new_bot)}
            await asyncio.sleep(1.0)
            refs = Counter(str(o["orderRef"]) for o in our_gateway_orders(server, strategy))
            assert refs == Counter({first_ref: 1, second_ref: 1}), refs
            await until(
                lambda: status.get("leader") == new_leader, 20, poll=refresh, what="status names new leader"
            )
        finally:
            for bot in bots:
                bot.stop()
