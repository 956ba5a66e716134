"""The operator's ServiceAccount holds exactly what the chart grants: enough to work (every other
cluster test runs the operator with it), nothing more."""

from __future__ import annotations

from pathlib import Path

import pytest

from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.testing import KubeCluster
from spyops.toolchain.helm import helm_template
from tests.operator.support import CHART, service_account_user

pytestmark = pytest.mark.cluster


def can_i(kube: KubeCluster, namespace: str, *request: str) -> bool:
    result = kube.kubectl(
        "auth", "can-i", *request, "-n", namespace, "--as", service_account_user(), check=False
    )
    return result.stdout.strip() == "yes"


def test_cluster_role_has_no_wildcards() -> None:
    docs = helm_template("x", "--show-only", "templates/rbac.yaml", chart=CHART)
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    for rule in role["rules"]:
        assert "*" not in rule["verbs"], rule
        assert "*" not in rule["resources"], rule
        assert "*" not in rule["apiGroups"], rule
        assert not {"delete", "deletecollection", "escalate", "bind", "impersonate"} & set(rule["verbs"]), (
            rule
        )


def test_what_it_needs_is_allowed(
    spyops_crds: KubeCluster, operator_sa_kubeconfig: Path, namespace: str
) -> None:
    for request in (
        ("patch", "deployments.apps"),
        ("create", "roles.rbac.authorization.k8s.io"),
        ("patch", "tradingstrategies.spyops.io", "--subresource=status"),
        ("patch", "vpnlinks.spyops.io", "--subresource=status"),
        ("get", "secrets"),
        ("watch", "ibkrgateways.spyops.io"),
        ("watch", "pods"),
        ("create", "events.events.k8s.io"),
        ("update", "leases.coordination.k8s.io"),
    ):
        assert can_i(spyops_crds, namespace, *request), request


def test_requests_outside_its_role_are_forbidden(
    spyops_crds: KubeCluster, operator_sa_kubeconfig: Path, namespace: str
) -> None:
    for request in (
        ("list", "secrets"),
        ("delete", "deployments.apps"),
        ("create", "pods"),
        ("patch", "tradingstrategies.spyops.io"),
        ("create", "clusterroles.rbac.authorization.k8s.io"),
        ("delete", "namespaces"),
    ):
        assert not can_i(spyops_crds, namespace, *request), request
    # And with its own token, a real request: listing Secrets is refused by the API server.
    result = run_kubectl(operator_sa_kubeconfig, "get", "secrets", "-n", namespace, check=False)
    assert result.returncode != 0
    assert "forbidden" in result.stderr.lower()
    result = run_kubectl(
        operator_sa_kubeconfig, "delete", "namespace", namespace, "--dry-run=server", check=False
    )
    assert "forbidden" in result.stderr.lower()
