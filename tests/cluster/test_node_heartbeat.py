"""The simulated node keeps a kubelet's heartbeat: kwok renews its Lease in kube-node-lease, so the
node lifecycle controller never marks it (and every pod on it) NotReady in a long-running cluster."""

from __future__ import annotations

import json
import time

import pytest

from spyops.cluster.testing import KubeCluster

pytestmark = pytest.mark.cluster


def renew_time(cluster: KubeCluster) -> str | None:
    result = cluster.kubectl(
        "get", "lease", KWOK_NODE_NAME, "-n", "kube-node-lease", "-o", "json", check=False
    )
    if result.returncode != 0:
        return None
    spec = json.loads(result.stdout)["spec"]
    return str(spec.get("renewTime")) if spec.get("renewTime") else None


def test_the_node_lease_is_renewed(kube_cluster: KubeCluster) -> None:
    if not kube_cluster.embedded:
        pytest.fail("this test checks the embedded control plane's kwok; run it without an existing cluster")
    deadline = time.monotonic() + 60
    first = renew_time(kube_cluster)
    while first is None and time.monotonic() < deadline:
        time.sleep(1)
        first = renew_time(kube_cluster)
    assert first is not None, (
        f"no Lease {KWOK_NODE_NAME} in kube-node-lease: kwok does not heartbeat the node"
    )
    renewed = first
    while renewed == first and time.monotonic() < deadline:
        time.sleep(1)
        renewed = renew_time(kube_cluster)
    assert renewed != first, f"the node Lease was not renewed within 60 s (renewTime stayed {first})"
