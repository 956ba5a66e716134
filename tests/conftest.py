"""Fixtures shared by every test area: the Kubernetes control plane and per-test namespaces."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pytest

from spyops.cluster.testing import KubeCluster, namespace_for_test, session_cluster

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


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
