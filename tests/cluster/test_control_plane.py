"""The embedded control plane is real: CRDs, controllers, kwok pods, authentication and RBAC."""

from __future__ import annotations

import base64
import json
import ssl
from pathlib import Path

import httpx
import pytest
import yaml

from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.testing import KubeCluster
from spyops.common.polling import wait_for
from tests.conftest import Kubectl

pytestmark = pytest.mark.cluster
KWOK_NODE = "expects the embedded cluster's kwok node to run the pods"

WIDGET_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.spyops.io
spec:
  group: test.spyops.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
          status:
            type: object
            properties:
              phase: {type: string}
"""


def test_custom_resource_round_trips_with_status_and_printer_columns(
    kubectl: Kubectl, namespace: str
) -> None:
    kubectl("apply", "-f", "-", input=WIDGET_CRD)
    kubectl("wait", "--for=condition=Established", "crd/widgets.test.spyops.io", "--timeout=60s")
    widget = {
        "apiVersion": "test.spyops.io/v1",
        "kind": "Widget",
        "metadata": {"name": "w1", "namespace": namespace},
        "spec": {"size": 3},
        "status": {"phase": "ignored-on-create"},
    }
    kubectl("apply", "-f", "-", input=json.dumps(widget))
    # status is a subresource: a write to the main resource does not set it ...
    created = json.loads(kubectl("get", "widget", "w1", "-n", namespace, "-o", "json").stdout)
    assert "status" not in created or created["status"] == {}
    # ... a write to /status does.
    kubectl(
        "patch", "widget", "w1", "-n", namespace, "--subresource=status", "--type=merge",
        "-p", '{"status": {"phase": "Running"}}',
    )  # fmt: skip
    table = kubectl("get", "wd", "w1", "-n", namespace).stdout.split("\n")
    assert table[0].split() == ["NAME", "SIZE", "PHASE"]
    assert table[1].split()[:3] == ["w1", "3", "Running"]
    # validation from the schema is enforced by the API server
    bad = kubectl(
        "apply", "-f", "-", check=False,
        input=json.dumps({**widget, "metadata": {"name": "w2", "namespace": namespace}, "spec": {"size": 0}}),
    )  # fmt: skip
    assert bad.returncode != 0
    assert "spec.size" in bad.stderr


@pytest.mark.embedded_only(KWOK_NODE)
def test_deployment_gets_three_running_pods_on_the_kwok_node(kubectl: Kubectl, namespace: str) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]},
            },
        },
    }
    kubectl("apply", "-f", "-", input=json.dumps(deployment))

    def three_running() -> bool:
        pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", "app=web", "-o", "json").stdout)
        running = [
            p for p in pods["items"] if p["status"].get("phase") == "Running" and p["spec"].get("nodeName")
        ]
        return len(running) == 3

    wait_for("3 running pods", three_running, 90)
    kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", "app=web", "-o", "json").stdout)
    assert {p["spec"]["nodeName"] for p in pods["items"]} == {"kwok-node-0"}


# what kubectl prints when the API server answers 401 Unauthorized
UNAUTHORIZED = "You must be logged in to the server"


def _kubeconfig_as(kube_cluster: KubeCluster, path: Path, user: dict[str, str]) -> Path:
    """The session's kubeconfig (same server and CA) with ``user`` as the only credentials."""
    config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    for entry in config["users"]:
        entry["user"] = dict(user)
    path.write_text(yaml.safe_dump(config))
    return path


def _cluster_ca(kube_cluster: KubeCluster, tmp_path: Path) -> ssl.SSLContext:
    config = yaml.safe_load(kube_cluster.kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    if "certificate-authority-data" in cluster:
        ca = tmp_path / "ca.crt"
        ca.write_bytes(base64.b64decode(cluster["certificate-authority-data"]))
        return ssl.create_default_context(cafile=str(ca))
    return ssl.create_default_context(cafile=cluster["certificate-authority"])


def test_request_without_credentials_is_refused(kube_cluster: KubeCluster, tmp_path: Path) -> None:
    context = _cluster_ca(kube_cluster, tmp_path)
    with httpx.Client(base_url=kube_cluster.server, verify=context, timeout=30) as client:
        anonymous = client.get("/api/v1/namespaces")
        forged = client.get("/api/v1/namespaces", headers={"Authorization": "Bearer not-a-real-token"})
    assert forged.status_code == 401
    if kube_cluster.embedded:
        # ours runs with --anonymous-auth=false: no credentials is an authentication failure
        assert anonymous.status_code == 401
    else:
        # other clusters may admit anonymous users, but must not let them read namespaces
        assert anonymous.status_code in (401, 403)
    # and kubectl reports it as such
    forged_config = _kubeconfig_as(kube_cluster, tmp_path / "forged", {"token": "not-a-real-token"})
    refused = run_kubectl(forged_config, "get", "namespaces", check=False)
    assert refused.returncode != 0
    assert UNAUTHORIZED in refused.stderr


def test_service_account_without_role_binding_is_forbidden(
    kube_cluster: KubeCluster, kubectl: Kubectl, namespace: str, tmp_path: Path
) -> None:
    kubectl("create", "serviceaccount", "nobody", "-n", namespace)
    token = kubectl("create", "token", "nobody", "-n", namespace, "--duration=10m").stdout.strip()
    nobody = _kubeconfig_as(kube_cluster, tmp_path / "nobody", {"token": token})
    denied = run_kubectl(nobody, "get", "pods", "-n", namespace, check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()
    assert f"system:serviceaccount:{namespace}:nobody" in denied.stderr
    # a RoleBinding is what makes the difference
    kubectl("create", "role", "pod-reader", "--verb=list", "--resource=pods", "-n", namespace)
    kubectl(
        "create", "rolebinding", "nobody-reads-pods", "--role=pod-reader",
        f"--serviceaccount={namespace}:nobody", "-n", namespace,
    )  # fmt: skip
    allowed = run_kubectl(nobody, "get", "pods", "-n", namespace, check=False)
    assert allowed.returncode == 0, allowed.stderr
