"""Bring the whole platform up on this machine, keep it running, and take it down again.

Order: control plane -> CRDs -> operator (its own ServiceAccount and the chart's RBAC) ->
backend and dashboard -> azure-sim -> the example resources (patched only where an address must
point at a local process) -> what the operator rendered, run as local processes (gateway
simulator, detector, bot replicas). Stop is the reverse.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from spyops.demo.kube import Kube, render_operator_rbac, wait_for
from spyops.demo.mirror import ConfigMirror, LocalAddresses
from spyops.demo.monitoring import DemoMonitoring, platform_targets, workload_target
from spyops.demo.ports import DemoPorts, check_ports_free
from spyops.demo.scenario import Scenario, Step
from spyops.demo.supervisor import STATE_FILE, DemoError, ProcessSpec, Supervisor, pid_alive
from spyops.demo.workloads import (
    ReplicaContext,
    available_workloads,
    gateway_sim_argv,
    installed_commands,
    local_argv,
    pod_command_args,
)

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
NAMESPACE = "default"
OPERATOR_NAMESPACE = "spyops-system"
OPERATOR_RELEASE = "spyops"
BACKEND_TOKEN_SECRET = "spyops-backend-token"  # noqa: S105 - a Secret's name
AZURE_CA_SECRET = "azure-sim-ca"  # noqa: S105 - a Secret's name
STATUS_EVERY_SECONDS = 30.0
# What the demo leaves alone between runs in its state directory: nothing; these are its own.
_OWNED = (
    "cluster",
    "logs",
    "workloads",
    "azure",
    "kubeconfigs",
    "backend.sqlite3",
    "backend-token",
    "monitoring",
    STATE_FILE,
)


@dataclass(frozen=True)
class DemoOptions:
    state_dir: Path
    ports: DemoPorts
    duration: float | None
    headless: bool
    scenario: Scenario | None
    anomalies_per_minute: float
    real_node: bool = False  # pods run as containers (spyops.demo.realnode), not as local processes


class _StopRequestedError(Exception):
    """SIGTERM/SIGINT arrived: unwind and clean up."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise _StopRequestedError(signal.Signals(signum).name)


def _load_example(name: str) -> dict[str, Any]:
    path = EXAMPLES / name
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise DemoError(f"{path} is not one Kubernetes object")
    return document


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as `kubectl patch --type=merge` applies it."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class Demo:
    def __init__(self, options: DemoOptions, say: Callable[[str], None]) -> None:
        self.options = options
        self.say = say
        self.state_dir = options.state_dir
        self.ports = options.ports
        self.supervisor: Supervisor | None = None
        self.plane: Any = None
        self.kube: Kube | None = None
        self.mirrors: list[ConfigMirror] = []
        self.strategy = ""
        self.link = ""
        self.gateway = ""
        self.missing: list[str] = []
        self.rewrites: list[str] = []
        self._exits = contextlib.ExitStack()
        self.monitoring = DemoMonitoring(options.state_dir, options.ports, say)
        self.scrape_targets: list[Any] = []
        self.host_ip = "127.0.0.1"

    # -- entry point -------------------------------------------------------
    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        code = 0
        try:
            self._prepare_state_dir()
            check_ports_free(self.ports, bot_replicas=self._example_bot_replicas())
            self._up()
            self._print_summary()
            code = self._run_until_stopped()
        except _StopRequestedError as stop:
            self.say(f"\n{stop.args[0]} received: stopping everything the demo started")
        except DemoError as exc:
            self.say(f"\nspyops demo failed: {exc}")
            code = 1
        finally:
            # A second Ctrl-C must not interrupt the cleanup.
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            self._down()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _example_bot_replicas(self) -> int:
        return int(_load_example("tradingstrategy.yaml")["spec"].get("replicas", 3))

    # -- state directory ---------------------------------------------------
    def _prepare_state_dir(self) -> None:
        for needed in (REPO / "crds", EXAMPLES, REPO / "charts" / "spyops"):
            if not needed.is_dir():
                raise DemoError(
                    f"{needed} is missing: `spyops demo` runs from a spyops source checkout "
                    "(it applies crds/ and examples/ and renders the chart's RBAC from it)"
                )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state_file = self.state_dir / STATE_FILE
        if state_file.exists():
            with contextlib.suppress(ValueError, OSError):
                previous = json.loads(state_file.read_text())
                pid = int(previous.get("pid", 0))
                if pid and pid != os.getpid() and pid_alive(pid):
                    raise DemoError(
                        f"another demo (pid {pid}) is running from {self.state_dir}; stop it with Ctrl-C "
                        f"(or `kill {pid}`), or give this one another --state-dir and --port-base"
                    )
        for name in _OWNED:
            path = self.state_dir / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        self.supervisor = Supervisor(self.state_dir, self.say)
        self.say(f"state and logs: {self.state_dir} (logs in {self.supervisor.log_dir})")

    # -- start -------------------------------------------------------------
    def _up(self) -> None:
        assert self.supervisor is not None
        self._start_control_plane()
        self._install_crds()
        self._start_operator()
        self._start_backend()
        endpoints, credentials = self._start_azure_sim()
        self._apply_examples(endpoints, credentials)
        self._start_gateway_sim()
        self._start_workloads()
        self.say(
            "[monitoring] Prometheus and Alertmanager, with the chart's alert rules and Alertmanager config"
        )
        self.monitoring.start(
            self.supervisor, platform_targets(self.ports, NAMESPACE, self.gateway) + self.scrape_targets
        )

    def _start_control_plane(self) -> None:
        from spyops.cluster.binaries import ensure_binaries
        from spyops.cluster.controlplane import ControlPlane

        assert self.supervisor is not None
        binaries = ensure_binaries()
        if self.options.real_node:
            from spyops.cluster.node.binaries import ensure_node_binaries
            from spyops.cluster.node.realnode import RealNodeCluster
            from spyops.images.build import all_tags

            self.say(
                "[1/8] control plane and a real node: etcd, kube-apiserver, controller-manager, scheduler, "
                "kubelet + containerd, kube-proxy, CoreDNS, local-path volumes (real Kubernetes, real containers)"
            )
            self.plane = RealNodeCluster(
                self.state_dir / "cluster", binaries, ensure_node_binaries(), images=all_tags(), name="demo",
                apiserver_port=self.ports.apiserver, progress=lambda m: self.say(f"  {m}"),
            )  # fmt: skip
        else:
            self.say(
                "[1/8] control plane: etcd, kube-apiserver, controller-manager, scheduler, kwok (real Kubernetes)"
            )
            self.plane = ControlPlane(
                self.state_dir / "cluster", binaries, name="demo", apiserver_port=self.ports.apiserver
            )
        state = self.plane.start()
        if self.options.real_node:
            # Pods reach host processes (the backend) at the host end of the node's link.
            self.host_ip = str(state.node["sandbox"]["host_ip"]) if state.node else "127.0.0.1"
        self.supervisor.extra_pids = [
            {"name": f"cluster/{c.name}", "pid": c.pid, "log": c.log, "standsInFor": ""}
            for c in state.components
        ]
        self.kube = Kube(self.plane.kubeconfig)
        self.supervisor.info.update(kubeconfig=str(self.plane.kubeconfig), server=state.server)
        self.supervisor.save()

    def _install_crds(self) -> None:
        assert self.kube is not None
        self.say("[2/8] CRDs from crds/ (kubectl apply --server-side)")
        crds = str(REPO / "crds")
        self.kube.run("apply", "--server-side", "--force-conflicts", "-f", crds)
        self.kube.run("wait", "--for=condition=Established", "--timeout=60s", "-f", crds)

    def _start_operator(self) -> None:
        assert self.kube is not None
        assert self.supervisor is not None
        self.say(
            f"[3/8] operator: `spyops operator` as ServiceAccount {OPERATOR_NAMESPACE}/{OPERATOR_RELEASE} "
            "with the chart's ClusterRole (helm template)"
        )
        rbac = render_operator_rbac(OPERATOR_RELEASE, OPERATOR_NAMESPACE)
        self.kube.run("create", "namespace", OPERATOR_NAMESPACE)
        self.kube.apply_documents(rbac)
        account = next(d for d in rbac if d["kind"] == "ServiceAccount")["metadata"]["name"]
        kubeconfigs = self.state_dir / "kubeconfigs"
        kubeconfigs.mkdir(exist_ok=True)
        kubeconfig = self.kube.service_account_kubeconfig(
            OPERATOR_NAMESPACE, account, kubeconfigs / "operator.kubeconfig"
        )
        port = self.ports.operator_metrics
        self.supervisor.start(
            ProcessSpec(
                name="operator",
                argv=(
                    sys.executable, "-m", "spyops", "operator",
                    "--namespace", NAMESPACE,
                    "--kubeconfig", str(kubeconfig),
                    "--metrics-host", "127.0.0.1",
                    "--metrics-port", str(port),
                    "--lease-namespace", OPERATOR_NAMESPACE,
                    "--identity", "spyops-demo-operator",
                ),
                env={"KUBECONFIG": str(kubeconfig)},
                ready_url=f"http://127.0.0.1:{port}/ready",
                stands_in_for=f"Deployment {OPERATOR_NAMESPACE}/{OPERATOR_RELEASE} (the chart's operator)",
            )
        )  # fmt: skip

    def _start_backend(self) -> None:
        assert self.supervisor is not None
        self.say("[4/8] backend and dashboard: `spyops backend` (stands in for the Azure-hosted backend)")
        token = self.state_dir / "backend-token"
        token.write_text(secrets.token_urlsafe(32))
        token.chmod(0o600)
        self.backend_token_file = token
        port = self.ports.backend
        self.supervisor.start(
            ProcessSpec(
                name="backend",
                argv=(
                    sys.executable, "-m", "spyops", "backend",
                    # On the real node its pods post to it across the node's link (the host end's address).
                    "--host", "0.0.0.0" if self.options.real_node else "127.0.0.1",
                    "--port", str(port),
                    "--store", f"sqlite:{self.state_dir / 'backend.sqlite3'}",
                    "--token-file", str(token),
                ),
                ready_url=f"http://127.0.0.1:{port}/ready",
                stands_in_for="the Azure backend (App Service) behind the VPN",
            )
        )  # fmt: skip
        self.supervisor.info["dashboardUrl"] = self.dashboard_url
        self.supervisor.info["backendUrl"] = self.backend_url
        self.supervisor.save()

    @property
    def backend_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.backend}"

    @property
    def dashboard_url(self) -> str:
        return f"{self.backend_url}/dashboard/"

    def _start_azure_sim(self) -> tuple[dict[str, str], dict[str, str]]:
        assert self.supervisor is not None
        self.say("[5/8] azure-sim: the Azure Resource Manager VPN endpoints on loopback (HTTPS, own CA)")
        azure = _load_example("vpnlink.yaml")["spec"]["azure"]
        sim_dir = self.state_dir / "azure"
        control = self.ports.azure_control
        self.supervisor.start(
            ProcessSpec(
                name="azure-sim",
                argv=(
                    sys.executable, "-m", "spyops", "azure-sim",
                    "--state-dir", str(sim_dir),
                    "--arm-port", str(self.ports.azure_arm),
                    "--control-port", str(control),
                    "--subscription-id", azure["subscriptionId"],
                    "--resource-group", azure["resourceGroup"],
                    "--gateway-name", azure["gatewayName"],
                    "--connection-name", azure["connectionName"],
                ),
                ready_url=f"http://127.0.0.1:{control}/ready",
                stands_in_for="Azure (the VPN gateway and connection of the VpnLink)",
            )
        )  # fmt: skip
        endpoints = wait_for(
            "azure-sim's endpoints.json",
            lambda: (
                json.loads((sim_dir / "endpoints.json").read_text())
                if (sim_dir / "endpoints.json").exists()
                else None
            ),
            timeout=30,
        )
        credentials = json.loads((sim_dir / "credentials.json").read_text())
        return endpoints, credentials

    def _apply_examples(self, endpoints: dict[str, str], credentials: dict[str, str]) -> None:
        assert self.kube is not None
        self.say(f"[6/8] example resources from {EXAMPLES} (namespace {NAMESPACE})")
        gateway = _load_example("ibkrgateway-simulator.yaml")
        link = _load_example("vpnlink.yaml")
        strategy = _load_example("tradingstrategy.yaml")
        self.gateway = gateway["metadata"]["name"]
        self.link = link["metadata"]["name"]
        self.strategy = strategy["metadata"]["name"]
        sp_secret = link["spec"]["azure"]["credentialsSecretRef"]["name"]
        azure_patch: dict[str, Any] = {
            "endpoint": endpoints["armUrl"],
            # The service principal's token comes from azure-sim's authority, not login.microsoftonline.com.
            "authorityHost": endpoints["authorityUrl"],
            "caBundleSecretRef": {"name": AZURE_CA_SECRET},
        }
        self.kube.apply_documents(
            [
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": sp_secret, "namespace": NAMESPACE},
                    "stringData": {
                        "clientId": credentials["clientId"],
                        "clientSecret": credentials["clientSecret"],
                        "tenantId": credentials["tenantId"],
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": AZURE_CA_SECRET, "namespace": NAMESPACE},
                    "stringData": {"ca.crt": Path(endpoints["caCert"]).read_text()},
                },
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": BACKEND_TOKEN_SECRET, "namespace": NAMESPACE},
                    "stringData": {"token": self.backend_token_file.read_text()},
                },
            ]
        )
        self.say(
            f"  Secrets: {sp_secret} (azure-sim's service principal), {AZURE_CA_SECRET}, {BACKEND_TOKEN_SECRET}"
        )
        patches: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
            ("ibkrgateway-simulator.yaml", gateway, {}),
            (
                "vpnlink.yaml",
                link,
                {
                    "spec": {
                        "azure": azure_patch,
                        # The probes cross the tunnel to the backend; here the backend is local.
                        "probes": {"targets": [f"127.0.0.1:{self.ports.backend}"]},
                    }
                },
            ),
            (
                "tradingstrategy.yaml",
                strategy,
                {
                    "spec": {
                        "outbound": {
                            "backendUrl": f"http://{self.host_ip}:{self.ports.backend}",
                            "tokenSecretRef": {"name": BACKEND_TOKEN_SECRET, "key": "token"},
                        }
                    }
                },
            ),
        ]
        documents = []
        for name, document, patch in patches:
            if patch:
                self.say(
                    f"  kubectl apply -f examples/{name} with merge patch {json.dumps(patch, separators=(',', ':'))}"
                )
            else:
                self.say(f"  kubectl apply -f examples/{name} (unchanged)")
            documents.append(merge_patch(document, patch))
        self.kube.apply_documents(documents, namespace=NAMESPACE)

    def _start_gateway_sim(self) -> None:
        assert self.kube is not None
        assert self.supervisor is not None
        kube = self.kube
        self.say(
            f"[7/8] waiting for the operator to render IBKRGateway/{self.gateway} and TradingStrategy/{self.strategy}"
        )
        sts = wait_for(
            f"StatefulSet {self.gateway} (rendered by the operator)",
            lambda: kube.try_get("statefulset", self.gateway, "-n", NAMESPACE),
            timeout=90,
        )
        container = sts["spec"]["template"]["spec"]["containers"][0]
        if self.options.real_node:
            self._forward_gateway(sts, container)
            return
        argv, notes = gateway_sim_argv(
            sys.executable,
            pod_command_args(container),
            self.ports,
            self.options.anomalies_per_minute,
        )
        pod = self._pods_of(sts["spec"]["selector"]["matchLabels"], 1)[0]
        self.say(f"  gateway simulator for pod {pod} ({'; '.join(notes)})")
        self.supervisor.start(
            ProcessSpec(
                name="gateway-sim",
                argv=tuple(argv),
                ready_url=f"http://127.0.0.1:{self.ports.gateway_control}/ready",
                stands_in_for=f"Pod {NAMESPACE}/{pod} (StatefulSet {self.gateway})",
            )
        )

    def _forward_gateway(self, sts: dict[str, Any], container: dict[str, Any]) -> None:
        """The simulator runs in its pod; `kubectl port-forward` puts its TWS and control ports on the
        demo's loopback ports, for the scenario steps, Prometheus and a client of your own."""
        assert self.kube is not None
        assert self.supervisor is not None
        pod = self._pods_of(sts["spec"]["selector"]["matchLabels"], 1)[0]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.kube.run("wait", "-n", NAMESPACE, "--for=condition=Ready", f"pod/{pod}", "--timeout=110s")
        self.say(f"  gateway simulator: pod {pod} (a container); kubectl port-forward for its ports")
        self.supervisor.start(
            ProcessSpec(
                name="gateway-forward",
                argv=(
                    str(Path(sys.executable).parent / "kubectl"), f"--kubeconfig={self.plane.kubeconfig}",
                    "port-forward", "-n", NAMESPACE, f"pod/{pod}",
                    f"{self.ports.gateway_api}:{ports['api']}", f"{self.ports.gateway_control}:{ports['control']}",
                ),
                ready_url=f"http://127.0.0.1:{self.ports.gateway_control}/ready",
                stands_in_for=f"nothing: forwards 127.0.0.1 to Pod {NAMESPACE}/{pod}",
            )
        )  # fmt: skip

    def _wait_workload_pods(self) -> None:
        assert self.kube is not None
        self.say("[8/8] workloads: the operator's Deployments, as containers on the real node")
        for component in ("detector", "bot"):
            name = f"{self.strategy}-{component}"
            wait_for(
                f"Deployment {name}",
                lambda n=name: self.kube.try_get("deployment", n, "-n", NAMESPACE) if self.kube else None,  # type: ignore[misc]
                timeout=90,
            )
            self.kube.run("rollout", "status", "-n", NAMESPACE, f"deployment/{name}", "--timeout=110s")
        pods = self.kube.get("pods", "-n", NAMESPACE)["items"]
        for pod in pods:
            self.say(f"  pod {pod['metadata']['name']}: {pod.get('status', {}).get('phase')}")

    def _pods_of(self, match_labels: dict[str, str], count: int) -> list[str]:
        """Names of ``count`` Running pods (kwok-simulated) matching the labels, oldest first."""
        assert self.kube is not None
        kube = self.kube
        selector = ",".join(f"{k}={v}" for k, v in sorted(match_labels.items()))

        def running() -> list[str] | None:
            items = kube.get("pods", "-n", NAMESPACE, "-l", selector)["items"]
            names = sorted(
                (p["metadata"]["creationTimestamp"], p["metadata"]["name"])
                for p in items
                if p.get("status", {}).get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")
            )
            return [name for _, name in names] if len(names) >= count else None

        return wait_for(f"{count} Running pod(s) with {selector}", running, timeout=90)[:count]

    def _start_workloads(self) -> None:
        assert self.kube is not None
        assert self.supervisor is not None
        kube = self.kube
        if self.options.real_node:
            self._wait_workload_pods()
            return
        present, self.missing = available_workloads(installed_commands())
        self.say("[8/8] workloads: the operator's Deployments, run as local processes")
        for component in self.missing:
            self.say(
                f"  NOT RUNNING: {component} (this installation has no `spyops {component}` command yet); "
                f"its Deployment exists in Kubernetes but nothing stands in for its pods"
            )
        configmap = f"{self.strategy}-config"
        wait_for(
            f"ConfigMap {configmap}",
            lambda: kube.try_get("configmap", configmap, "-n", NAMESPACE),
            timeout=90,
        )
        strategy_dir = self.state_dir / "workloads" / self.strategy
        local = LocalAddresses(
            gateway_host="127.0.0.1",
            gateway_port=self.ports.gateway_api,
            detector_stream_url=f"http://127.0.0.1:{self.ports.detector_signals}",
            backend_token_file=str(self.backend_token_file),
        )

        # The mirror polls twice a second: one HTTPS GET with the admin certificate, not a kubectl process.
        api = self._exits.enter_context(self.plane.admin_client())
        path = f"/api/v1/namespaces/{NAMESPACE}/configmaps/{configmap}"

        def fetch() -> str | None:
            response = api.get(path)
            if response.status_code == 404:
                return None
            response.raise_for_status()
            data = response.json().get("data") or {}
            return str(data["config.json"]) if "config.json" in data else None

        mirror = ConfigMirror(fetch, local, strategy_dir / "config", self.say)
        mirror.sync_once()
        mirror.start()
        self.mirrors.append(mirror)
        self.say(f"  ConfigMap {configmap} -> {mirror.path} (kept in sync; rewritten atomically on change)")
        for rewrite in mirror.rewrites:
            line = f"{rewrite.field}: {rewrite.rendered} -> {rewrite.local}"
            self.rewrites.append(line)
            self.say(f"    address mapped: {line}")
        for workload in present:
            deployment_name = f"{self.strategy}-{workload.component}"
            deployment = wait_for(
                f"Deployment {deployment_name}",
                lambda name=deployment_name: kube.try_get("deployment", name, "-n", NAMESPACE),  # type: ignore[misc]
                timeout=90,
            )
            replicas = int(deployment["spec"].get("replicas", 1))
            template = deployment["spec"]["template"]["spec"]
            container = template["containers"][0]
            pods = self._pods_of(deployment["spec"]["selector"]["matchLabels"], replicas)
            kubeconfig = None
            if workload.uses_service_account:
                account = template.get("serviceAccountName", "default")
                kubeconfig = kube.service_account_kubeconfig(
                    NAMESPACE, account, self.state_dir / "kubeconfigs" / f"{account}.kubeconfig"
                )
            for ordinal, pod in enumerate(pods):
                work_dir = strategy_dir / pod
                work_dir.mkdir(parents=True, exist_ok=True)
                ctx = ReplicaContext(
                    ordinal=ordinal,
                    pod_name=pod,
                    namespace=NAMESPACE,
                    config_file=mirror.path,
                    work_dir=work_dir,
                    kubeconfig=kubeconfig,
                    ports=self.ports,
                )
                argv = local_argv(
                    sys.executable, pod_command_args(container), mirror.path, workload.local_flags(ctx)
                )
                self.scrape_targets.append(
                    workload_target(
                        workload.component, workload.probe_port(ctx), NAMESPACE, self.strategy, pod
                    )
                )
                env = {"POD_NAME": pod, "POD_NAMESPACE": NAMESPACE}
                if kubeconfig is not None:
                    env["KUBECONFIG"] = str(kubeconfig)
                self.supervisor.start(
                    ProcessSpec(
                        name=f"{workload.component}-{ordinal}",
                        argv=tuple(argv),
                        env=env,
                        ready_url=f"http://127.0.0.1:{workload.probe_port(ctx)}{workload.ready_path}",
                        stands_in_for=f"Pod {NAMESPACE}/{pod} (Deployment {deployment_name})",
                        ready_timeout=120,
                    )
                )

    # -- summary and the running demo ---------------------------------------
    def _print_summary(self) -> None:
        assert self.supervisor is not None
        assert self.plane is not None
        kubectl = Path(sys.executable).parent / "kubectl"
        lines = [
            "",
            "spyops demo is up.",
            "",
            (
                "Real Kubernetes objects and real containers (embedded kube-apiserver + etcd, a real node: "
                "`kubectl get pods -o wide` and `kubectl logs` show the workloads):"
                if self.options.real_node
                else "Real Kubernetes objects (embedded kube-apiserver + etcd; kwok simulates the node, so no "
                "container runs):"
            ),
            f"  CRDs, the operator's RBAC, IBKRGateway/{self.gateway}, TradingStrategy/{self.strategy}, "
            f"VpnLink/{self.link}, and everything the operator made (StatefulSet, Deployments, ConfigMap, Services, "
            "Roles, Leases, pods)",
            "",
            (
                "Local processes (the platform around the node):"
                if self.options.real_node
                else "Local processes (no container runtime here; each one is configured from what the operator "
                "rendered):"
            ),
        ]
        for running in self.supervisor.running:
            lines.append(
                f"  {running.spec.name:<12} pid {running.process.pid:<7} "
                f"{'stands in for ' + running.spec.stands_in_for if running.spec.stands_in_for else ''}"
            )
        if self.missing:
            lines.append(f"  not running (not in this installation yet): {', '.join(self.missing)}")
        lines += [
            "",
            f"Dashboard:  {self.dashboard_url}",
            f"Prometheus: {self.monitoring.prometheus_url}  (alerts: {self.monitoring.prometheus_url}/api/v1/alerts)",
            f"Alertmanager: {self.monitoring.alertmanager_url}  (notifications are printed here as they arrive)",
            f"Logs:       {self.supervisor.log_dir}",
            "",
            "In another shell:",
            f"  export KUBECONFIG={self.plane.kubeconfig}",
            f"  export PATH={kubectl.parent}:$PATH   # the pinned kubectl",
            "  kubectl get spyops",
            "",
        ]
        if self.options.scenario is not None:
            lines.append(f"Scenario {self.options.scenario.source}:")
            lines += [f"  at {s.at_seconds:>6.0f}s  {s.describe()}" for s in self.options.scenario.steps]
            lines.append("")
        if self.options.duration is not None:
            lines.append(f"Stopping by itself after {self.options.duration:.0f}s.")
        lines.append("Ctrl-C stops everything the demo started.")
        self.say("\n".join(lines))
        self.supervisor.info["up"] = True
        self.supervisor.save()

    def _run_until_stopped(self) -> int:
        assert self.supervisor is not None
        started = time.monotonic()
        pending = list(self.options.scenario.steps) if self.options.scenario else []
        every = STATUS_EVERY_SECONDS / 3 if self.options.headless else STATUS_EVERY_SECONDS
        next_status = started + every
        while True:
            now = time.monotonic()
            elapsed = now - started
            if self.options.duration is not None and elapsed >= self.options.duration:
                self.say(f"\n--duration {self.options.duration:.0f}s reached: stopping")
                return 0
            while pending and pending[0].at_seconds <= elapsed:
                self._play(pending.pop(0), elapsed)
            exited = self.supervisor.exited()
            if exited:
                first = exited[0]
                raise DemoError(
                    f"{first.spec.name} (pid {first.process.pid}) exited with code {first.process.returncode}; "
                    f"see {first.log}"
                )
            for line in self.monitoring.new_notifications():
                self.say(f"[{elapsed:5.0f}s] notification: {line}")
            if now >= next_status:
                self.say(self._status_line(elapsed))
                next_status = now + every
            time.sleep(0.25)

    def _status_line(self, elapsed: float) -> str:
        assert self.kube is not None
        strategy = self.kube.try_get("tradingstrategy", self.strategy, "-n", NAMESPACE) or {}
        link = self.kube.try_get("vpnlink", self.link, "-n", NAMESPACE) or {}
        s = strategy.get("status", {})
        v = link.get("status", {})
        return (
            f"[{elapsed:5.0f}s] strategy {self.strategy}: phase={s.get('phase')} leader={s.get('leader')} "
            f"orders={s.get('ordersToday')} pnl={s.get('realizedPnl')} state={s.get('enforcedTradingState')} "
            f"| link {self.link}: health={v.get('health')} azure={(v.get('azure') or {}).get('connectionStatus')}"
        )

    def _play(self, step: Step, elapsed: float) -> None:
        self.say(f"[{elapsed:5.0f}s] scenario: {step.describe()}")
        try:
            self._do(step)
        except (httpx.HTTPError, DemoError) as exc:
            self.say(f"  scenario step failed: {exc}")

    def _do(self, step: Step) -> None:
        assert self.kube is not None
        gateway = f"http://127.0.0.1:{self.ports.gateway_control}"
        azure = f"http://127.0.0.1:{self.ports.azure_control}"
        p = step.params
        requests: dict[str, tuple[str, dict[str, Any]]] = {
            "inject": (f"{gateway}/anomalies", dict(p)),
            "link-down": (f"{azure}/control/connection", {"status": "NotConnected"}),
            "link-up": (f"{azure}/control/connection", {"status": "Connected"}),
            "gateway-restart": (f"{gateway}/restart", {"downtime_seconds": p.get("downtime_seconds", 3)}),
            "gateway-disconnect": (f"{gateway}/connectivity/lost", {}),
            "gateway-reconnect": (
                f"{gateway}/connectivity/restored",
                {"data_lost": p.get("data_lost", False)},
            ),
        }
        if step.action == "kill-switch":
            patch = {"spec": {"tradingState": p["state"]}}
            self.kube.run(
                "patch",
                "tradingstrategy",
                self.strategy,
                "-n",
                NAMESPACE,
                "--type=merge",
                "-p",
                json.dumps(patch),
            )
            self.say(f"  kubectl patch tradingstrategy {self.strategy} --type=merge -p '{json.dumps(patch)}'")
            return
        url, body = requests[step.action]
        response = httpx.post(url, json=body, timeout=10)
        if response.status_code >= 400:
            raise DemoError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
        self.say(f"  POST {url} -> {response.status_code}")

    # -- stop --------------------------------------------------------------
    def _down(self) -> None:
        for mirror in self.mirrors:
            mirror.stop()
        self._exits.close()
        if self.supervisor is not None:
            self.supervisor.stop_all()
        if self.plane is not None:
            self.say("  stopping the control plane")
            left = self.plane.stop()  # the real node returns what it could not remove
            if left:
                self.say(f"  left behind: {', '.join(left)}")
        if self.supervisor is not None:
            self.supervisor.info["up"] = False
            self.supervisor.info["stopped"] = True
            self.supervisor.save()
        self.say("demo stopped; nothing it started is left running")
