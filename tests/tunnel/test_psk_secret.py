"""`spyops tunnel render --psk-secret`: the key read from a Kubernetes Secret on the real API server."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.cluster.testing import KubeCluster
from tests.tunnel.outputs_fixture import seeds_outputs_json

pytestmark = pytest.mark.cluster

PSK = "from-a-Secret-7e3a"


def _render(tmp_path: Path, kube: KubeCluster, *args: str) -> tuple[int, str, Path]:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(seeds_outputs_json())
    out = tmp_path / "conf.d"
    out.mkdir(exist_ok=True)
    result = CliRunner().invoke(
        app,
        [
            "tunnel",
            "render",
            "--outputs",
            str(outputs),
            "--out-dir",
            str(out),
            "--kubeconfig",
            str(kube.kubeconfig),
            *args,
        ],
    )
    return result.exit_code, result.output, out / "spyops-azure.secrets.conf"


def test_key_from_a_secret(kube_cluster: KubeCluster, namespace: str, tmp_path: Path) -> None:
    kube_cluster.kubectl(
        "create", "secret", "generic", "vpn-psk", "-n", namespace, f"--from-literal=psk={PSK}"
    )
    code, output, secrets = _render(tmp_path, kube_cluster, "--psk-secret", f"{namespace}/vpn-psk")
    assert code == 0, output
    assert PSK not in output
    encoded = "0s" + base64.b64encode(PSK.encode()).decode()
    assert secrets.read_text().count(f"secret = {encoded}\n") == 2


def test_missing_secret_or_key_is_one_line(kube_cluster: KubeCluster, namespace: str, tmp_path: Path) -> None:
    code, output, _ = _render(tmp_path, kube_cluster, "--psk-secret", f"{namespace}/absent")
    assert code == 2
    assert (
        output.strip() == f'error: --psk-secret {namespace}/absent: 404 NotFound: secrets "absent" not found'
    )
    kube_cluster.kubectl("create", "secret", "generic", "other", "-n", namespace, "--from-literal=key=x")
    code, output, _ = _render(tmp_path, kube_cluster, "--psk-secret", f"{namespace}/other")
    assert output.strip() == (
        f"error: --psk-secret {namespace}/other: the Secret has no key 'psk' (keys: key); set --psk-key"
    )
