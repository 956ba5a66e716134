"""Running the operator against the test control plane as it runs in a cluster: its own process,
its own ServiceAccount (bound to the chart's ClusterRole), JSON logs, /ready and /metrics."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from spyops.cluster.testing import KubeCluster
from spyops.cluster.tokens import token_kubeconfig
from spyops.common.polling import wait_for
from spyops.demo.kube import render_operator_rbac
from spyops.operator.api.gateway import IBKRGatewaySpec
from spyops.operator.api.strategy import TradingStrategySpec
from spyops.operator.bench_process import spawn_operator
from spyops.operator.builders.common import Owner
from spyops.operator.builders.gateway import GatewayInputs, build_gateway_children
from spyops.operator.builders.strategy import StrategyInputs, build_strategy_children
from spyops.operator.drift import child_up_to_date
from spyops.operator.render import GatewayTarget, gateway_host, render_runtime_config

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "spyops"
EXAMPLES = REPO / "examples"
OPERATOR_NAMESPACE = "spyops-system"
RBAC_RELEASE = "rbac-under-test"
MANAGED = "app.kubernetes.io/managed-by=spyops-operator"
TEST_IMAGE = "ghcr.io/spyops/spyops:test"  # what OperatorProcess passes as --workload-image
STRATEGY_CHILD_KINDS = (
    "configmaps",
    "persistentvolumeclaims",
    "services",
    "serviceaccounts",
    "roles.rbac.authorization.k8s.io",
    "rolebindings.rbac.authorization.k8s.io",
    "deployments.apps",
    "poddisruptionbudgets.policy",
    "networkpolicies.networking.k8s.io",
    "statefulsets.apps",
)


def install_crds(cluster: KubeCluster) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(REPO / "crds"))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(REPO / "crds"))


def operator_kubeconfig(cluster: KubeCluster, workdir: Path) -> Path:
    """A kubeconfig holding only the operator ServiceAccount's token, with the chart's RBAC applied."""
    rbac = render_operator_rbac(RBAC_RELEASE, OPERATOR_NAMESPACE)
    cluster.kubectl("create", "namespace", OPERATOR_NAMESPACE, check=False)
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(rbac))
    sa = next(d for d in rbac if d["kind"] == "ServiceAccount")["metadata"]["name"]
    token = cluster.kubectl("create", "token", sa, "-n", OPERATOR_NAMESPACE, "--duration=4h").stdout.strip()
    return token_kubeconfig(cluster.kubeconfig, "spyops-operator", token, workdir / "operator.kubeconfig")


def service_account_user() -> str:
    return f"system:serviceaccount:{OPERATOR_NAMESPACE}:{RBAC_RELEASE}-spyops"


@dataclass
class OperatorProcess:
    """One `spyops operator` subprocess with a log file; started and stopped by the tests."""

    kubeconfig: Path
    namespace: str
    log_dir: Path
    identity: str = "operator-under-test"
    extra_args: tuple[str, ...] = ()
    launcher: tuple[str, ...] = ()  # a command prefix, e.g. `ip netns exec NAME` (the tunnel tests)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    runs: int = field(default=0)

    def start(self) -> OperatorProcess:
        self.runs += 1
        self.log = self.log_dir / f"operator-{self.identity}-{self.runs}.log"
        self.log.unlink(missing_ok=True)
        self.process = spawn_operator(
            self.kubeconfig,
            self.namespace,
            self.identity,
            0,
            self.log,
            extra=("--workload-image", TEST_IMAGE, *self.extra_args),
            launcher=self.launcher,
        )
        self.port = wait_for("the operator's metrics port in its log", self._port_from_log, timeout=60)
        return self

    def _port_from_log(self) -> int:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"operator exited with {self.process.returncode}:\n{self.log.read_text()[-4000:]}"
            )
        for line in self.log.read_text(errors="replace").splitlines():
            if '"serving /health' in line:
                return int(json.loads(line)["port"])
        return 0

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=5)

    def wait_ready(self, timeout: float = 90) -> None:
        def ready() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, self.log.read_text()[-4000:]
            try:
                return self.get("/ready").status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("operator /ready", ready, timeout=timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)

    def logs(self) -> str:
        return self.log.read_text(errors="replace")


def get_json(cluster: KubeCluster, *args: str) -> Any:
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def condition(body: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for item in (body.get("status") or {}).get("conditions") or []:
        if item["type"] == kind:
            return dict(item)
    return None


def managed_objects(cluster: KubeCluster, namespace: str) -> list[tuple[str, str]]:
    """(kind, name) of every object the operator labels as its own in ``namespace``."""
    found = []
    items = get_json(cluster, ",".join(STRATEGY_CHILD_KINDS), "-n", namespace, "-l", MANAGED)["items"]
    for item in items:
        found.append((item["kind"], item["metadata"]["name"]))
    return sorted(found)


def secret_value(value: str) -> str:
    return base64.b64encode(value.encode()).decode()


def expected_children(kube: KubeCluster, namespace: str, image: str = TEST_IMAGE) -> list[dict[str, Any]]:
    """What a clean run writes, from the pure builders and the objects' real uids."""
    gateway = get_json(kube, "ibkrgateway", "gw", "-n", namespace)
    gw_spec = IBKRGatewaySpec.model_validate(gateway["spec"])
    children = build_gateway_children(
        GatewayInputs(Owner("IBKRGateway", "gw", namespace, gateway["metadata"]["uid"]), gw_spec, image)
    )
    target = GatewayTarget(gateway_host("gw", namespace), gw_spec.api_port, gw_spec.trading_mode.value)
    for item in get_json(kube, "tradingstrategies", "-n", namespace)["items"]:
        name = item["metadata"]["name"]
        spec = TradingStrategySpec.model_validate(item["spec"])
        config = render_runtime_config(namespace, name, spec, target, None)
        owner = Owner("TradingStrategy", name, namespace, item["metadata"]["uid"])
        children += build_strategy_children(StrategyInputs(owner, spec, config, image, service_monitor=False))
    return children


def assert_children_exactly_as_built(kube: KubeCluster, namespace: str) -> None:
    """The children in ``namespace`` are exactly what the builders make for its objects: nothing
    duplicated, missing or extra, each up to date and owned once; no ReplicaSet without an owner."""
    expected = expected_children(kube, namespace)
    live = get_json(kube, ",".join(STRATEGY_CHILD_KINDS), "-n", namespace, "-l", MANAGED)["items"]
    live_keys = sorted((o["kind"], o["metadata"]["name"]) for o in live)
    expected_keys = sorted((o["kind"], o["metadata"]["name"]) for o in expected)
    assert live_keys == expected_keys  # no duplicates, nothing missing, nothing extra
    by_key = {(o["kind"], o["metadata"]["name"]): o for o in live}
    for desired in expected:
        current = by_key[(desired["kind"], desired["metadata"]["name"])]
        assert child_up_to_date(desired, current), f"{desired['kind']}/{desired['metadata']['name']} differs"
        owners = current["metadata"]["ownerReferences"]
        assert len(owners) == 1
        assert owners[0]["uid"] == desired["metadata"]["ownerReferences"][0]["uid"]
    # No ReplicaSet or pod without a live owner (orphans), and one ReplicaSet per Deployment revision in use.
    for rs in get_json(kube, "replicasets", "-n", namespace)["items"]:
        assert rs["metadata"].get("ownerReferences"), rs["metadata"]["name"]
