"""IBKRGateway status.serverVersion and status.lastRestart come from the API probe, with its own
account: the operator makes the gateway's ServiceAccount and a Role that may patch only that
gateway's status; `spyops gateway-probe --gateway` (the pod's readiness probe) handshakes with the
gateway (here the simulator, on loopback as it would be inside the pod) and writes them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.testing import KubeCluster
from spyops.common.polling import wait_for
from spyops.demo.kube import Kube
from spyops.gatewaysim.server import GatewayServer
from tests.operator.probe_support import run_probe, running_simulator
from tests.operator.support import OperatorProcess, get_json

pytestmark = pytest.mark.cluster


def gateway(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "spyops.io/v1alpha1",
        "kind": "IBKRGateway",
        "metadata": {"name": name},
        "spec": {"simulator": {"scenario": "calm", "seed": 1}},
    }


@pytest.fixture
async def simulator() -> AsyncIterator[GatewayServer]:
    async with running_simulator() as server:
        yield server


async def probe(port: int, namespace: str, kubeconfig: Path, state: Path) -> tuple[int, dict[str, Any]]:
    return await run_probe(
        port, "--timeout", "5", "--gateway", "paper", "--namespace", namespace,
        "--kubeconfig", str(kubeconfig), "--state-file", str(state),
    )  # fmt: skip


def status(kube: KubeCluster, namespace: str, name: str = "paper") -> dict[str, Any]:
    return dict(get_json(kube, "ibkrgateway", name, "-n", namespace).get("status") or {})


async def test_probe_writes_version_and_last_restart_with_the_gateways_own_account(
    spyops_crds: KubeCluster,
    namespace: str,
    operator: OperatorProcess,
    simulator: GatewayServer,
    tmp_path: Path,
) -> None:
    kube = spyops_crds
    for name in ("paper", "other"):
        kube.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(gateway(name)))
    await asyncio.to_thread(
        wait_for,
        "the gateway's account, Role and RoleBinding",
        lambda: all(
            kube.kubectl("get", kind, "paper-gateway", "-n", namespace, check=False).returncode == 0
            for kind in ("serviceaccount", "role", "rolebinding")
        ),
        60,
    )
    account = Kube(kube.kubeconfig).service_account_kubeconfig(
        namespace, "paper-gateway", tmp_path / "gateway.kubeconfig"
    )
    state = tmp_path / "probe.json"

    code, report = await probe(simulator.port, namespace, account, state)
    assert code == 0, report
    assert report["serverVersion"] == 178
    assert "statusError" not in report, report
    first = status(kube, namespace)
    assert first["serverVersion"] == 178
    assert first["lastRestart"] == report["status"]["lastRestart"]
    row = kube.kubectl("get", "ibkrgateway", "paper", "-n", namespace, "--no-headers").stdout.split()
    assert "178" in row  # the Version printer column

    # Nothing new on the next run: no write.
    code, report = await probe(simulator.port, namespace, account, state)
    assert code == 0
    assert "status" not in report
    assert status(kube, namespace)["lastRestart"] == first["lastRestart"]

    # The gateway restarts: the probe fails while it is down, then sees it back.
    restarting = asyncio.create_task(simulator.restart(2.0))
    await asyncio.sleep(0.3)
    code, report = await probe(simulator.port, namespace, account, state)
    assert code == 1, report
    await restarting
    code, report = await probe(simulator.port, namespace, account, state)
    assert code == 0, report
    after = status(kube, namespace)
    assert dt.datetime.fromisoformat(after["lastRestart"]) > dt.datetime.fromisoformat(first["lastRestart"])
    assert after["serverVersion"] == 178

    # The account may patch that status and nothing else.
    patch = json.dumps({"status": {"serverVersion": 1}})
    other = run_kubectl(
        account, "patch", "ibkrgateway", "other", "-n", namespace, "--subresource=status",
        "--type=merge", "-p", patch, check=False,
    )  # fmt: skip
    assert other.returncode != 0
    assert "forbidden" in other.stderr.lower()
    spec = run_kubectl(
        account, "patch", "ibkrgateway", "paper", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"apiPort": 4010}}), check=False,
    )  # fmt: skip
    assert spec.returncode != 0
    assert "forbidden" in spec.stderr.lower()
    read = run_kubectl(account, "get", "ibkrgateway", "paper", "-n", namespace, check=False)
    assert read.returncode != 0

    # The operator's own status writes leave the probe's fields alone.
    kube.kubectl(
        "patch", "ibkrgateway", "paper", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"simulator": {"seed": 2}}}),
    )  # fmt: skip
    generation = get_json(kube, "ibkrgateway", "paper", "-n", namespace)["metadata"]["generation"]
    await asyncio.to_thread(
        wait_for,
        "the operator to observe the new generation",
        lambda: status(kube, namespace).get("observedGeneration") == generation,
        60,
    )
    assert status(kube, namespace)["serverVersion"] == 178
    assert status(kube, namespace)["lastRestart"] == after["lastRestart"]
