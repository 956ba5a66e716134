"""The trading loop survives pod life on the real node: leader killed from the host, leader pod deleted,
every bot pod deleted while the backend is down, a rolling update. One node, one chart install and one
trading namespace serve every scenario in turn (each starts from three Ready bots and a live leader);
each ends with the same checks: no order twice, journal and gateway agree on every orderRef, nothing
missing at the backend once it is reachable."""

from __future__ import annotations

import json

import pytest

from spyops.cluster.node.deploy import helm_install, orders_at_gateway, pod_start_seconds, wait_for
from spyops.cluster.node.podlife import LEASE_SECONDS, Trading, start_trading
from spyops.cluster.node.podlife_checks import undecided_between
from spyops.cluster.testing import RealNodeKube
from spyops.toolchain.helm import ensure_helm

pytestmark = [pytest.mark.realnode, pytest.mark.timeout(900)]

# A live leader renews every tenth of the lease; a takeover waits for the lease to expire, then for the
# next attempt of a follower (one renew interval), then for the write.
TAKEOVER_BOUND = LEASE_SECONDS + LEASE_SECONDS / 10 + 2


@pytest.fixture(scope="module")
def trading(real_node: RealNodeKube) -> Trading:
    helm_install(real_node.kubeconfig, ensure_helm())
    assert real_node.node is not None
    assert real_node.state_dir is not None
    return start_trading(real_node.kubeconfig, dict(real_node.node), real_node.state_dir, "podlife", print)


def assert_nothing_lost(trading: Trading, with_backend: bool = True) -> None:
    verdict = trading.verdict(with_backend=with_backend)
    assert verdict.problems == [], verdict.problems


def test_pods_start_within_the_seeds_promise(trading: Trading) -> None:
    starts = pod_start_seconds(trading.kubeconfig, trading.namespace)
    assert set(starts) >= {"gateway", "detector", "bot"}, starts
    assert all(seconds < 30 for values in starts.values() for seconds in values), starts
    # The claims bound (the pods run) and the bots took distinct slots of theirs.
    assert trading.journals().orders, "no order in any bot journal on the claim"


def test_sigkill_of_the_leader_process_from_the_host(trading: Trading) -> None:
    leader = trading.steady()
    sent = trading.kill_container(leader)
    seconds, holder = trading.wait_renewal_after(sent, None, timeout=3 * LEASE_SECONDS)
    print(json.dumps({"takeover_after_sigkill_seconds": round(seconds, 2), "new_leader": holder}))
    assert seconds <= TAKEOVER_BOUND
    trading.steady()
    assert_nothing_lost(trading)


def test_deleting_the_leader_pod(trading: Trading) -> None:
    leader = trading.steady()
    sent = trading.delete_pods(leader)
    seconds, holder = trading.wait_renewal_after(sent, leader, timeout=3 * LEASE_SECONDS)
    print(json.dumps({"takeover_after_delete_seconds": round(seconds, 2), "new_leader": holder}))
    assert holder != leader
    assert seconds <= TAKEOVER_BOUND
    trading.steady()
    assert_nothing_lost(trading)


def test_outbox_survives_every_bot_pod_deleted_while_the_backend_is_down(trading: Trading) -> None:
    trading.steady()
    trading.set_backend(up=False)
    try:
        before = len(orders_at_gateway(trading.kubeconfig, trading.namespace))
        wait_for(
            "a new order while the backend is down (its fills wait in the outbox)",
            lambda: (
                len(orders_at_gateway(trading.kubeconfig, trading.namespace)) > before
                and trading.outbox_pending() > 0
            ),
            180,
            3,
        )
        waiting = trading.outbox_items()
        names = [p["metadata"]["name"] for p in trading.bot_pods()]
        trading.delete_pods(*names)
        trading.steady()
        assert not {p["metadata"]["name"] for p in trading.bot_pods()} & set(names)
        carried = trading.outbox_items()
        print(
            json.dumps(
                {"outbox_items_before_delete": len(waiting), "outbox_items_after_new_pods": len(carried)}
            )
        )
        # Nothing is delivered while the backend is down: every item is still in some slot's outbox.
        assert waiting <= carried, f"outbox items lost with the pods: {sorted(waiting - carried)[:5]}"
        # The backend is still down: the journals and the gateway agree without it.
        assert_nothing_lost(trading, with_backend=False)
    finally:
        trading.set_backend(up=True)
    assert_nothing_lost(trading)
    # What waited across the pods' deletion drains (trading goes on, so new items may be waiting).
    wait_for("the carried outbox items to drain", lambda: not waiting & trading.outbox_items(), 120, 3)


def test_rolling_update_keeps_a_leader(trading: Trading) -> None:
    gap, start, end = trading.roll_and_watch("101m")
    assert_nothing_lost(trading)
    undecided = undecided_between(trading.backend_items("signals") or [], trading.journals(), start, end)
    print(
        json.dumps(
            {
                "rolling_update_longest_leaderless_seconds": round(gap, 2),
                "signals_without_a_decision_in_it": len(undecided),
            }
        )
    )
    assert gap <= TAKEOVER_BOUND, (gap, start, end)


@pytest.mark.parametrize("daemon", ["kubelet", "containerd"])
def test_node_daemon_restart_while_trading(trading: Trading, daemon: str) -> None:
    trading.steady()
    before = len(orders_at_gateway(trading.kubeconfig, trading.namespace))
    trading.restart_node_daemon(daemon)
    trading.node_ready()
    trading.steady()
    wait_for(
        f"trading to go on after the {daemon} restart",
        lambda: len(orders_at_gateway(trading.kubeconfig, trading.namespace)) > before,
        180,
        3,
    )
    assert_nothing_lost(trading)
