"""The chart: lint, server-side dry-run of everything it renders, and a real install."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from spyops.cluster.testing import KubeCluster
from spyops.toolchain.helm import ensure_helm, helm_template
from tests.operator.support import CHART

pytestmark = pytest.mark.cluster
NEEDS_KWOK = "the operator pod runs an image nobody publishes; only the kwok node reports it Available"

VALUE_FILES = ("values.yaml", "values-dev.yaml", "values-prod.yaml")


def helm(kube: KubeCluster, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ensure_helm()), f"--kubeconfig={kube.kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("values", VALUE_FILES)
def test_helm_lint(values: str) -> None:
    result = subprocess.run(
        [str(ensure_helm()), "lint", "--strict", str(CHART), "-f", str(CHART / values)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_refuses_bad_values() -> None:
    result = subprocess.run(
        [str(ensure_helm()), "template", "x", str(CHART), "--set", "replicaCount=0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "replicaCount" in result.stderr


@pytest.mark.parametrize("values", ["values.yaml", "values-dev.yaml"])
def test_rendered_chart_passes_server_side_dry_run(
    spyops_crds: KubeCluster, namespace: str, values: str
) -> None:
    rendered = helm_template("dry", "--namespace", namespace, "-f", str(CHART / values), chart=CHART)
    result = spyops_crds.kubectl(
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        input=yaml.safe_dump_all(rendered),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "customresourcedefinition.apiextensions.k8s.io/tradingstrategies.spyops.io" in result.stdout


@pytest.mark.embedded_only(NEEDS_KWOK)
def test_helm_install_brings_the_operator_up(
    spyops_crds: KubeCluster, namespace: str, tmp_path: Path
) -> None:
    release = "e2e"
    # The session already installed the CRDs with kubectl; Helm must not try to take them over.
    install = helm(
        spyops_crds,
        "install",
        release,
        str(CHART),
        "-n",
        namespace,
        "--set",
        "crds.install=false",
        "--set",
        f"watchNamespaces={{{namespace}}}",
        "--wait",
        "--timeout",
        "180s",
    )
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        assert "spyops operator" in install.stdout
        deployment = spyops_crds.kubectl(
            "get",
            "deployment",
            f"{release}-spyops",
            "-n",
            namespace,
            "-o",
            "jsonpath={.status.availableReplicas}",
        ).stdout
        assert deployment == "1"
        args = spyops_crds.kubectl(
            "get",
            "deployment",
            f"{release}-spyops",
            "-n",
            namespace,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        ).stdout
        assert f"--namespace={namespace}" in args
    finally:
        uninstall = helm(spyops_crds, "uninstall", release, "-n", namespace, "--wait")
        assert uninstall.returncode == 0, uninstall.stderr
    # CRDs outlive the release.
    spyops_crds.kubectl("get", "crd", "tradingstrategies.spyops.io")
