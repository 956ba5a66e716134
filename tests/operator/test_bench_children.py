"""The operator benchmark counts what the builders make, not a number typed into it."""

from __future__ import annotations

import pytest

from spyops.operator import bench


@pytest.mark.parametrize(("service_monitor", "count"), [(False, 13), (True, 14)])
def test_children_per_strategy_come_from_the_builders(service_monitor: bool, count: int) -> None:
    children = bench.strategy_children("ns", "s", "uid", service_monitor)
    assert bench.children_per_strategy(service_monitor) == len(children) == count
    kinds = {(c["apiVersion"], c["kind"]) for c in children}
    assert set(bench.child_kinds(service_monitor)) == kinds, "the benchmark must watch every child kind"
    assert (("monitoring.coreos.com/v1", "ServiceMonitor") in kinds) is service_monitor


def test_a_strategy_is_done_only_when_every_child_was_seen() -> None:
    expected = bench.children_per_strategy(True)
    counter = bench.ChildCounter(expected)
    for _ in range(expected - 1):
        counter.event("s")
    assert "s" not in counter.done_at
    counter.event("s")
    assert "s" in counter.done_at


def test_gateway_objects_come_from_the_builders() -> None:
    # the gateway, its StatefulSet, Service, NetworkPolicy, and the probe's ServiceAccount, Role, RoleBinding
    assert bench.objects_per_gateway() == 7
