"""SIGKILL the operator at random points of reconciliation, many times; the end state is exactly
what a clean run produces: the same children, nothing duplicated, nothing orphaned."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from spyops.cluster.testing import KubeCluster
from spyops.common import metrics_text
from tests.operator.support import OperatorProcess, assert_children_exactly_as_built, get_json

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.embedded_only(
        "Ready needs the workload pods Running; they run an image nobody publishes, which only the embedded cluster's kwok node reports as Running"
    ),
]

KILLS = int(os.environ.get("SPYOPS_CRASH_KILLS", "15"))
STRATEGIES = 4


def manifests(namespace: str) -> str:
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "spyops.io/v1alpha1",
            "kind": "IBKRGateway",
            "metadata": {"name": "gw", "namespace": namespace},
            "spec": {"simulator": {"scenario": "calm"}},
        }
    ]
    for index in range(STRATEGIES):
        docs.append(
            {
                "apiVersion": "spyops.io/v1alpha1",
                "kind": "TradingStrategy",
                "metadata": {"name": f"s{index}", "namespace": namespace},
                "spec": {
                    "gatewayRef": {"name": "gw"},
                    "replicas": 1 + index % 3,
                    "risk": {"maxDailyLoss": 100 + index},
                },
            }
        )
    return "\n---\n".join(json.dumps(d) for d in docs)


def test_random_sigkills_converge_to_the_clean_state(
    spyops_crds: KubeCluster,
    namespace: str,
    operator_sa_kubeconfig: Path,
    tmp_path: Path,
    operator_factory: list[OperatorProcess],
) -> None:
    kube = spyops_crds
    rng = random.Random(20260321)
    proc = OperatorProcess(operator_sa_kubeconfig, namespace, tmp_path, identity="crashy")
    operator_factory.append(proc)
    kube.kubectl("apply", "-f", "-", input=manifests(namespace))
    for round_ in range(KILLS):
        proc.start()
        time.sleep(rng.uniform(0.0, 2.5))
        proc.kill()
        if round_ % 5 == 4:
            # Change specs between crashes so that the kills land in updates too.
            kube.kubectl(
                "patch",
                "tradingstrategy",
                f"s{round_ % STRATEGIES}",
                "-n",
                namespace,
                "--type=merge",
                "-p",
                json.dumps({"spec": {"risk": {"maxDailyLoss": 500 + round_}, "replicas": 2}}),
            )
    proc.start()
    proc.wait_ready()
    names = [f"tradingstrategy/s{i}" for i in range(STRATEGIES)]
    waited = kube.kubectl(
        "wait",
        "-n",
        namespace,
        "--for=condition=Ready",
        "--timeout=180s",
        "ibkrgateway/gw",
        *names,
        timeout=200,
        check=False,
    )
    if waited.returncode != 0:
        states = kube.kubectl(
            "get",
            "tradingstrategies,ibkrgateways,deployments,statefulsets,pods",
            "-n",
            namespace,
            "-o",
            "wide",
            check=False,
        ).stdout
        conditions = kube.kubectl(
            "get",
            "tradingstrategies,ibkrgateways",
            "-n",
            namespace,
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.status.conditions}{'\\n'}{end}",
            check=False,
        ).stdout
        raise AssertionError(f"not Ready after the kills:\n{waited.stderr}\n{states}\n{conditions}")

    assert_children_exactly_as_built(kube, namespace)
    for item in get_json(kube, "tradingstrategies", "-n", namespace)["items"]:
        status = item["status"]
        assert status["observedGeneration"] == item["metadata"]["generation"]
        assert status["phase"] == "Running"
        assert status["readyBots"] == f"{item['spec']['replicas']}/{item['spec']['replicas']}"
        types = [c["type"] for c in status["conditions"]]
        assert len(types) == len(set(types))
    # No kopf bookkeeping and no finalizers were left on our objects by the killed runs.
    for item in get_json(kube, "tradingstrategies,ibkrgateways", "-n", namespace)["items"]:
        assert not item["metadata"].get("finalizers")

    # Converged means quiet: no reconcile errors any more (transient ones during the kills are fine).
    def errors() -> float:
        text = proc.get("/metrics").text
        return (
            metrics_text.value(
                text, "controller_runtime_reconcile_errors_total", {"controller": "tradingstrategy"}
            )
            or 0.0
        )

    before = errors()
    time.sleep(5)
    failures = [line for line in proc.logs().splitlines() if "reconcile failed" in line]
    assert errors() == before, failures[-5:]
