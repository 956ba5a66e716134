"""`make deploy-edge` (the deploy workflow's edge job) against the embedded Kubernetes: it installs the
chart and waits, and an upgrade that never becomes ready is rolled back to the last good release."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest

from spyops.cluster.testing import KubeCluster
from spyops.toolchain.helm import ensure_helm

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]


def release_of(namespace: str) -> str:
    # A valid release name (DNS label, short) that is unique per test namespace.
    return "edge-" + hashlib.sha256(namespace.encode()).hexdigest()[:8]


def deploy(kube: KubeCluster, namespace: str, *extra: str) -> subprocess.CompletedProcess[str]:
    # The session installed the CRDs with kubectl already, so the release leaves them alone.
    return subprocess.run(
        [
            "make",
            "-s",
            "deploy-edge",
            f"DEPLOY_NAMESPACE={namespace}",
            f"DEPLOY_RELEASE={release_of(namespace)}",
            f"DEPLOY_ARGS=--set crds.install=false --set watchNamespaces={{{namespace}}}",
            *extra,
        ],
        cwd=REPO,
        env={**os.environ, "KUBECONFIG": str(kube.kubeconfig)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def operator_field(kube: KubeCluster, namespace: str, jsonpath: str) -> str:
    """A field of the release's operator Deployment."""
    deployment = f"{release_of(namespace)}-spyops"
    return kube.kubectl("get", "deployment", deployment, "-n", namespace, "-o", f"jsonpath={jsonpath}").stdout


def history(kube: KubeCluster, namespace: str) -> list[dict[str, object]]:
    result = subprocess.run(
        [
            str(ensure_helm()),
            f"--kubeconfig={kube.kubeconfig}",
            "history",
            release_of(namespace),
            "-n",
            namespace,
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    entries: list[dict[str, object]] = json.loads(result.stdout)
    return entries


def test_deploy_installs_waits_and_rolls_back_a_failed_upgrade(
    spyops_crds: KubeCluster, namespace: str
) -> None:
    release = release_of(namespace)
    try:
        first = deploy(spyops_crds, namespace, "DEPLOY_ENV=dev", "DEPLOY_TIMEOUT=180s")
        assert first.returncode == 0, first.stdout + first.stderr
        assert operator_field(spyops_crds, namespace, "{.status.availableReplicas}") == "1"

        # An upgrade whose pod can never be scheduled (100,000 CPUs; the kwok node offers 2,000): the wait times out, Helm rolls back.
        failed = deploy(
            spyops_crds,
            namespace,
            "DEPLOY_ENV=dev",
            "DEPLOY_TIMEOUT=20s",
            "DEPLOY_ARGS=--set crds.install=false "
            f"--set watchNamespaces={{{namespace}}} --set resources.requests.cpu=100000",
        )
        assert failed.returncode != 0
        assert "rollback" in (failed.stdout + failed.stderr).lower()
        revisions = history(spyops_crds, namespace)
        assert [r["status"] for r in revisions][-1] == "deployed"
        assert "Rollback to 1" in str(revisions[-1]["description"])
        cpu = operator_field(
            spyops_crds, namespace, "{.spec.template.spec.containers[0].resources.requests.cpu}"
        )
        assert cpu != "1000"
    finally:
        subprocess.run(
            [
                str(ensure_helm()),
                f"--kubeconfig={spyops_crds.kubeconfig}",
                "uninstall",
                release,
                "-n",
                namespace,
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
