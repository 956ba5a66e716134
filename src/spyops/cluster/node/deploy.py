"""The README's "Deploy on a real k3s node" steps, as code: helm install the chart, apply the examples,
wait for the example strategy to trade. The real-node end-to-end test and `spyops bench realnode` run
exactly these steps (on the embedded cluster's real node, or any cluster a kubeconfig names)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from spyops.cluster.kubectl import run_kubectl
from spyops.common import polling
from spyops.images.names import CHART_DIR, REPO_ROOT

T = TypeVar("T")

OPERATOR_NAMESPACE = "spyops-system"
RELEASE = "spyops"
EXAMPLES = (
    REPO_ROOT / "examples" / "ibkrgateway-simulator.yaml",
    REPO_ROOT / "examples" / "tradingstrategy.yaml",
)
GATEWAY, STRATEGY = "paper-sim", "spy-0dte"
CONTROL_PORT = 8081  # the example gateway's simulator control API (the CRD's default)


class DeployError(RuntimeError):
    """A deployment step did not finish; the message says which and what the cluster showed."""


def helm_install(kubeconfig: Path, helm: Path, *args: str, timeout: float = 300) -> float:
    """`helm install spyops charts/spyops -n spyops-system --create-namespace --wait`; seconds taken."""
    started = time.monotonic()
    result = subprocess.run(
        [str(helm), f"--kubeconfig={kubeconfig}", "install", RELEASE, str(CHART_DIR), "-n", OPERATOR_NAMESPACE,
         "--create-namespace", "--wait", "--timeout", f"{int(timeout)}s", *args],
        capture_output=True, text=True, timeout=timeout + 30, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        pods = run_kubectl(
            kubeconfig, "get", "pods", "-n", OPERATOR_NAMESPACE, "-o", "wide", check=False
        ).stdout
        raise DeployError(f"helm install failed: {result.stderr.strip()[-1500:]}\n{pods}")
    return time.monotonic() - started


def apply_examples(kubeconfig: Path, namespace: str) -> float:
    """`kubectl apply -f` of the example gateway and strategy; returns the wall-clock time it was done."""
    args = ["apply", "-n", namespace]
    for example in EXAMPLES:
        args += ["-f", str(example)]
    run_kubectl(kubeconfig, *args)
    return time.time()


def get_json(kubeconfig: Path, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run_kubectl(kubeconfig, "get", *args, "-o", "json").stdout)
    return result


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
    """Poll ``probe`` (see spyops.common.polling); a timeout is a DeployError, which the CLI prints."""
    return polling.wait_for(what, probe, timeout, interval, error=DeployError)


def gateway_get(kubeconfig: Path, namespace: str, path: str) -> Any:
    """GET the simulator's control API from inside its own container (the test host has no route to
    pod IPs; `kubectl exec` goes through the API server and kubelet as a user would)."""
    script = (
        "import sys, urllib.request; "
        f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{CONTROL_PORT}{path}', timeout=5).read().decode())"
    )
    result = run_kubectl(
        kubeconfig, "exec", "-n", namespace, f"{GATEWAY}-0", "-c", "gateway", "--", "python", "-c", script,
        check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)


def orders_at_gateway(kubeconfig: Path, namespace: str) -> list[dict[str, Any]]:
    body = gateway_get(kubeconfig, namespace, "/orders")
    if isinstance(body, dict):
        body = body.get("orders", [])
    return list(body or [])


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def pod_start_seconds(kubeconfig: Path, namespace: str) -> dict[str, list[float]]:
    """Per component (app.kubernetes.io/component), each pod's creation to its containers running
    (the latest container start), in seconds, from the API's own timestamps."""
    pods = get_json(kubeconfig, "pods", "-n", namespace)["items"]
    found: dict[str, list[float]] = {}
    for pod in pods:
        component = pod["metadata"].get("labels", {}).get("app.kubernetes.io/component", "other")
        created = _parse_time(pod["metadata"]["creationTimestamp"])
        starts = [
            _parse_time(c["state"]["running"]["startedAt"])
            for c in (pod.get("status") or {}).get("containerStatuses") or []
            if (c.get("state") or {}).get("running")
        ]
        if starts:
            found.setdefault(component, []).append((max(starts) - created).total_seconds())
    return found


def condition(body: dict[str, Any], type_: str) -> dict[str, Any]:
    for item in (body.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return {}
