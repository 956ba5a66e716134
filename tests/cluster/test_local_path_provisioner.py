"""The embedded cluster's local-path provisioner: a claim a pod uses is bound to a volume made for it, a
deleted claim's volume and directory go with it, and a provisioner with nothing to do asks nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from spyops.common.metrics_text import samples
from spyops.common.polling import wait_for
from tests.conftest import Kubectl

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.embedded_only("tests the embedded control plane's own local-path provisioner"),
]


def _claim_and_pod(namespace: str) -> str:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "user", "namespace": namespace},
        "spec": {
            "containers": [{"name": "c", "image": "example.invalid/c:1"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [claim, pod]})


def _lists_of(kubectl: Kubectl, resource: str) -> float:
    """Cluster-wide LISTs of ``resource`` the API server has answered since it started (its own counter;
    the namespace controller's LISTs while other tests' namespaces go are namespace-scoped)."""
    text = kubectl("get", "--raw", "/metrics").stdout
    return sum(
        s.value
        for s in samples(text)
        if s.name == "apiserver_request_total"
        and s.labels.get("verb") == "LIST"
        and s.labels.get("resource") == resource
        and s.labels.get("scope") == "cluster"
    )


def test_a_used_claim_is_bound_and_its_volume_goes_with_it(kubectl: Kubectl, namespace: str) -> None:
    kubectl("apply", "-f", "-", input=_claim_and_pod(namespace))

    def bound_volume() -> str | None:
        claim = json.loads(kubectl("get", "pvc", "data", "-n", namespace, "-o", "json").stdout)
        return claim["spec"].get("volumeName") if claim["status"].get("phase") == "Bound" else None

    volume = wait_for("the claim to be bound", bound_volume, timeout=60, interval=0.5)
    pv = json.loads(kubectl("get", "pv", volume, "-o", "json").stdout)
    directory = Path(pv["spec"]["local"]["path"])
    assert directory.is_dir()

    kubectl("delete", "pod", "user", "-n", namespace, "--grace-period=0", "--force", "--wait=true")
    kubectl("delete", "pvc", "data", "-n", namespace, "--wait=true")
    wait_for(
        f"volume {volume} to be deleted with its claim",
        lambda: kubectl("get", "pv", volume, "--ignore-not-found", "-o", "name").stdout.strip() == "",
        timeout=60,
        interval=0.5,
    )
    assert not directory.exists()


def test_an_idle_provisioner_lists_nothing(kubectl: Kubectl, namespace: str) -> None:
    # It follows claims and volumes with watches: polling LISTed both, cluster-wide, twice a second.
    kubectl("apply", "-f", "-", input=_claim_and_pod(namespace))
    wait_for(
        "the claim to be bound",
        lambda: (
            kubectl("get", "pvc", "data", "-n", namespace, "-o", "jsonpath={.status.phase}").stdout == "Bound"
        ),
        timeout=60,
        interval=0.5,
    )
    before = (_lists_of(kubectl, "persistentvolumeclaims"), _lists_of(kubectl, "persistentvolumes"))
    time.sleep(3.0)  # six polls' worth
    after = (_lists_of(kubectl, "persistentvolumeclaims"), _lists_of(kubectl, "persistentvolumes"))
    assert after == before, f"LISTs of claims, volumes while idle: {before} -> {after}"
