"""Fixtures for the operator's tests against the real control plane."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spyops.cluster.testing import KubeCluster
from tests.operator.support import OperatorProcess, install_crds, operator_kubeconfig


@pytest.fixture(scope="session")
def spyops_crds(kube_cluster: KubeCluster) -> KubeCluster:
    install_crds(kube_cluster)
    return kube_cluster


@pytest.fixture(scope="session")
def operator_sa_kubeconfig(spyops_crds: KubeCluster, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The operator's identity: the chart's ServiceAccount and ClusterRole, nothing more."""
    return operator_kubeconfig(spyops_crds, tmp_path_factory.mktemp("operator-identity"))


@pytest.fixture
def operator_factory(
    operator_sa_kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[list[OperatorProcess]]:
    """Operators started by a test (kept in the list) are stopped at teardown, logs shown on failure."""
    started: list[OperatorProcess] = []
    yield started
    for proc in started:
        proc.stop()


@pytest.fixture
def operator(
    operator_sa_kubeconfig: Path, namespace: str, tmp_path: Path, operator_factory: list[OperatorProcess]
) -> OperatorProcess:
    proc = OperatorProcess(operator_sa_kubeconfig, namespace, tmp_path).start()
    operator_factory.append(proc)
    proc.wait_ready()
    return proc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for proc in item.funcargs.get("operator_factory", []) or []:  # type: ignore[attr-defined]
            report.sections.append((f"operator log ({proc.identity})", proc.logs()[-6000:]))
