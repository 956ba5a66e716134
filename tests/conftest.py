"""Fixtures shared by every test area: the Kubernetes control plane and per-test namespaces."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator

import pytest

from spyops.cluster.testing import USE_EXISTING_ENV, KubeCluster, namespace_for_test, session_cluster

Kubectl = Callable[..., subprocess.CompletedProcess[str]]

# The cluster tests that run against any cluster KUBECONFIG names (kind, k3s): `make test` runs them
# once more against a separately started embedded control plane through that path.
PORTABLE = "cluster and not embedded_only"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that touches Kubernetes says so, and every embedded-only one says why."""
    for item in items:
        if "kube_cluster" in getattr(item, "fixturenames", ()) and item.get_closest_marker("cluster") is None:
            raise pytest.UsageError(f"{item.nodeid} uses the cluster but is not marked `cluster`")
        marker = item.get_closest_marker("embedded_only")
        if marker is not None and not (marker.args and str(marker.args[0]).strip()):
            raise pytest.UsageError(f"{item.nodeid}: embedded_only needs a reason")


def pytest_runtest_setup(item: pytest.Item) -> None:
    marker = item.get_closest_marker("embedded_only")
    if marker is not None and os.environ.get(USE_EXISTING_ENV) == "1":
        pytest.fail(
            f"{item.nodeid} runs only on the embedded control plane ({marker.args[0]}); "
            f"against an existing cluster select the portable subset: -m '{PORTABLE}'",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def kube_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeCluster]:
    """One real control plane for the whole session (or the cluster KUBECONFIG names, when opted in)."""
    with session_cluster(tmp_path_factory.mktemp("kube")) as cluster:
        yield cluster


@pytest.fixture
def namespace(kube_cluster: KubeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    with namespace_for_test(kube_cluster, request.node.name) as name:
        yield name


@pytest.fixture
def kubectl(kube_cluster: KubeCluster) -> Kubectl:
    """Run the pinned kubectl against the session's cluster: kubectl("get", "pods", "-n", ns)."""
    return kube_cluster.kubectl
