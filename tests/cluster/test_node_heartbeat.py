"""Nodes keep a kubelet's heartbeat: their Lease in kube-node-lease is renewed (by kwok on the
embedded control plane), so the node lifecycle controller never marks the node (and every pod on
it) NotReady in a long-running cluster."""

from __future__ import annotations

import json
import time

import pytest

from spyops.cluster.testing import KubeCluster

pytestmark = pytest.mark.cluster


def renew_time(cluster: KubeCluster, node: str) -> str | None:
    result = cluster.kubectl("get", "lease", node, "-n", "kube-node-lease", "-o", "json", check=False)
    if result.returncode != 0:
        return None
    spec = json.loads(result.stdout)["spec"]
    return str(spec["renewTime"]) if spec.get("renewTime") else None


def test_the_node_lease_is_renewed(kube_cluster: KubeCluster) -> None:
    nodes = json.loads(kube_cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    node = nodes[0]["metadata"]["name"]
    deadline = time.monotonic() + 60
    first = renew_time(kube_cluster, node)
    while first is None and time.monotonic() < deadline:
        time.sleep(1)
        first = renew_time(kube_cluster, node)
    assert first is not None, f"no Lease {node} in kube-node-lease: nothing heartbeats the node"
    renewed: str | None = first
    while renewed == first and time.monotonic() < deadline:
        time.sleep(1)
        renewed = renew_time(kube_cluster, node)
    assert renewed != first, f"the node Lease was not renewed within 60 s (renewTime stayed {first})"
