"""`spyops bench podlife`: the seeds' operational claims measured on the real node, over many rounds.

Each number stands next to a baseline from the same run: takeover times next to the configured lease
duration and the leader's measured renew interval (the floor of any leaderless time), the rolling-update
gap next to that renew interval, pod start-up next to a bare pod's. The seeds' figures are quotations.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spyops.cluster.node.bench import _bare_pod_seconds
from spyops.cluster.node.podlife import LEASE_SECONDS, Trading, start_trading
from spyops.cluster.node.podlife_checks import percentile, undecided_between
from spyops.operator.main import DEFAULT_WORKLOAD_IMAGE

SEEDS = {
    "pod_startup_seconds": "quoted from the seed design: 18 s on average, under 30 s",
    "rolling_update_downtime_seconds": "quoted from the seed design: 0 s",
}


def _load() -> str:
    return Path("/proc/loadavg").read_text().strip()


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "rounds": len(values),
        "p50": _round(percentile(values, 50)),
        "p99": _round(percentile(values, 99)),
        "max": _round(max(values) if values else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def renew_interval(trading: Trading, seconds: float = 8.0) -> float | None:
    """The median time between the leader's renewals, observed on the Lease (the baseline cadence)."""
    seen: list[float] = []
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        renewed = trading.lease().get("renewTime")
        if renewed != last and renewed:
            seen.append(time.time())
            last = renewed
        time.sleep(0.05)
    deltas = [b - a for a, b in itertools.pairwise(seen[1:])]
    return statistics.median(deltas) if deltas else None


def run_rounds(trading: Trading, rounds: int, say: Callable[[str], None]) -> dict[str, Any]:
    from spyops.cluster.node.deploy import pod_start_seconds

    load_before = _load()
    starts = pod_start_seconds(trading.kubeconfig, trading.namespace)
    # The example's backend pod has no component label; it is the backend, not part of the edge's claim.
    starts["backend"] = starts.pop("other", [])
    bare = _bare_pod_seconds(trading.kubeconfig, DEFAULT_WORKLOAD_IMAGE)
    cadence = renew_interval(trading)
    kill: list[float] = []
    delete: list[float] = []
    gaps: list[float] = []
    windows: list[tuple[float, float]] = []
    for i in range(rounds):
        say(f"round {i + 1}/{rounds}: SIGKILL of the leader's process ...")
        leader = trading.steady()
        kill.append(trading.wait_renewal_after(trading.kill_container(leader), None, 3 * LEASE_SECONDS)[0])
        say(f"round {i + 1}/{rounds}: deletion of the leader pod ...")
        leader = trading.steady()
        delete.append(trading.wait_renewal_after(trading.delete_pods(leader), leader, 3 * LEASE_SECONDS)[0])
        say(f"round {i + 1}/{rounds}: rolling update ...")
        gap, start, end = trading.roll_and_watch(f"{102 + i}m")
        gaps.append(gap)
        windows.append((start, end))
    say("backend down, every bot pod deleted ...")
    trading.steady()
    trading.set_backend(up=False)
    try:
        time.sleep(2 * LEASE_SECONDS)
        pending = trading.outbox_pending()
        trading.delete_pods(*[p["metadata"]["name"] for p in trading.bot_pods()])
        trading.steady()
        carried = trading.outbox_pending()
    finally:
        trading.set_backend(up=True)
    verdict = trading.verdict()
    signals = trading.backend_items("signals") or []
    journal = trading.journals()
    undecided = sum(len(undecided_between(signals, journal, a, b)) for a, b in windows)
    return {
        "load_average": load_before,
        "lease_duration_seconds": LEASE_SECONDS,
        "leader_renew_interval_seconds_measured": _round(cadence),
        "takeover_after_sigkill_seconds": _summary(kill),
        "takeover_after_leader_pod_delete_seconds": _summary(delete),
        "rolling_update_longest_leaderless_seconds": {
            **_summary(gaps),
            "baseline_renew_interval_seconds": _round(cadence),
            "signals_without_a_decision_in_the_gaps": undecided,
            "seed": SEEDS["rolling_update_downtime_seconds"],
        },
        "pod_startup_seconds": {
            component: {"mean": round(statistics.mean(v), 2), "max": round(max(v), 2)}
            for component, v in starts.items()
            if v
        }
        | {"baseline_bare_pod_seconds": round(bare, 2), "seed": SEEDS["pod_startup_seconds"]},
        "outbox_items_across_pod_deletion": {"before": pending, "after_new_pods": carried},
        "orders_duplicated": sum(n - 1 for n in verdict.duplicated_orders.values()),
        "orders_not_journaled": len(verdict.not_journaled),
        "journaled_orders_not_at_gateway": len(verdict.journaled_not_at_gateway),
        "fills_missing_at_backend": len(verdict.executions_missing_at_backend),
        "signals_missing_at_backend": len(verdict.signals_missing_at_backend),
        "load_average_after": _load(),
    }


def run_podlife_benchmark(rounds: int, say: Callable[[str], None]) -> dict[str, Any]:
    from spyops.cluster.node.deploy import helm_install
    from spyops.cluster.testing import real_node_cluster
    from spyops.toolchain.helm import ensure_helm

    with tempfile.TemporaryDirectory(prefix="bench-podlife-") as tmp, real_node_cluster(Path(tmp)) as kube:
        assert kube.node is not None
        assert kube.state_dir is not None
        helm_install(kube.kubeconfig, ensure_helm())
        trading = start_trading(kube.kubeconfig, dict(kube.node), kube.state_dir, "bench-podlife", say)
        return run_rounds(trading, rounds, say)
