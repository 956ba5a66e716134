"""Pod life on the real node: one trading namespace (gateway simulator, detector, three bots and a backend,
all real pods from the chart's operator), the chaos the tests and `spyops bench podlife` inflict on it,
and what they observe (the Lease, the journals on their volume, the gateway's and the backend's records).

The checks themselves are pure (spyops.cluster.node.podlife_checks)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spyops.cluster.controlplane import ClusterState, _die_with_parent
from spyops.cluster.kubectl import run_kubectl
from spyops.cluster.node.config import NodePaths
from spyops.cluster.node.deploy import (
    CONTROL_PORT,
    EXAMPLES,
    GATEWAY,
    STRATEGY,
    DeployError,
    get_json,
    orders_at_gateway,
    wait_for,
)
from spyops.cluster.node.images import ctr
from spyops.cluster.node.podlife_checks import (
    JournalView,
    Verdict,
    journal_status,
    judge,
    longest_gap,
    merge_journals,
)
from spyops.cluster.node.provisioner import client_from_kubeconfig
from spyops.cluster.node.sandbox import nsenter
from spyops.operator.main import DEFAULT_WORKLOAD_IMAGE

BACKEND = "backend"
BACKEND_PORT = 8080
LEASE_SECONDS = 10  # the strategy's leaseDurationSeconds here: takeovers are bounded by it
BOT_SELECTOR = "app.kubernetes.io/component=bot"


@dataclass
class Trading:
    """One namespace that trades on the real node, and how to reach what the checks read."""

    kubeconfig: Path
    namespace: str
    holder_pid: int  # the node's namespace holder (nsenter target for `ctr`)
    containerd_socket: Path
    cluster_state_dir: Path
    token: str = field(repr=False, default="")

    # -- reading -------------------------------------------------------------------------

    def lease(self) -> dict[str, Any]:
        with client_from_kubeconfig(self.kubeconfig) as http:
            response = http.get(
                f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases/{STRATEGY}-leader"
            )
        if response.status_code == 404:
            return {}
        response.raise_for_status()
        spec: dict[str, Any] = response.json().get("spec") or {}
        return spec

    def bot_pods(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = get_json(
            self.kubeconfig, "pods", "-n", self.namespace, "-l", BOT_SELECTOR
        )["items"]
        return items

    def exec_get(self, pod: str, container: str, port: int, path: str) -> Any:
        """GET a pod's HTTP endpoint from inside the pod (the host has no route to pod IPs)."""
        script = (
            "import sys, urllib.request; "
            f"sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=10).read().decode())"
        )
        result = run_kubectl(
            self.kubeconfig, "exec", "-n", self.namespace, pod, "-c", container, "--", "python", "-c", script,
            check=False, timeout=60,
        )  # fmt: skip
        if result.returncode != 0:
            return None
        return json.loads(result.stdout)

    def gateway_executions(self) -> list[dict[str, Any]]:
        return list(self.exec_get(f"{GATEWAY}-0", "gateway", CONTROL_PORT, "/executions") or [])

    def backend_items(self, kind: str) -> list[dict[str, Any]] | None:
        """Every signal or execution the backend holds; None when it does not answer."""
        pods = get_json(self.kubeconfig, "pods", "-n", self.namespace, "-l", f"app={BACKEND}")["items"]
        running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        if not running:
            return None
        pod = running[0]["metadata"]["name"]
        found: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(200):
            page = self.exec_get(pod, BACKEND, BACKEND_PORT, f"/v1/{kind}?limit=500{cursor}")
            if page is None:
                return None
            found.extend(page["items"])
            if not page.get("next_cursor"):
                return found
            cursor = f"&cursor={page['next_cursor']}"
        raise DeployError(f"the backend's /v1/{kind} did not end after 200 pages")

    def backend_ids(self, kind: str) -> set[str] | None:
        items = self.backend_items(kind)
        return None if items is None else {str(item["id"]) for item in items}

    def journals(self) -> JournalView:
        """Every slot's journal on the bots' claim, read on the host where the provisioner made the volume."""
        claim = get_json(self.kubeconfig, "pvc", f"{STRATEGY}-bot-state", "-n", self.namespace)
        volume = get_json(self.kubeconfig, "pv", claim["spec"]["volumeName"])
        root = Path(volume["spec"]["local"]["path"])
        views = [_read_journal(path) for path in sorted(root.glob("slot-*/journal.sqlite"))]
        return merge_journals(views)

    def verdict(self, with_backend: bool = True, drain_timeout: float = 90) -> Verdict:
        """The end-of-scenario checks; waits (bounded) for the outboxes to drain into the backend."""
        deadline = time.monotonic() + drain_timeout
        while True:
            orders = orders_at_gateway(self.kubeconfig, self.namespace)
            executions = self.gateway_executions()
            journal = self.journals()
            orders_after = orders_at_gateway(self.kubeconfig, self.namespace)
            signals = self.backend_ids("signals") if with_backend else None
            fills = self.backend_ids("executions") if with_backend else None
            if with_backend and (signals is None or fills is None):
                found = judge(orders, executions, journal, set(), set(), gateway_orders_after=orders_after)
            else:
                found = judge(orders, executions, journal, fills, signals, gateway_orders_after=orders_after)
            backend_missing = found.executions_missing_at_backend or found.signals_missing_at_backend
            if not backend_missing or time.monotonic() > deadline:
                return found
            time.sleep(3)

    def outbox_items(self) -> set[tuple[str, str]]:
        """(kind, id) of every item waiting in a bot slot's outbox (read on the host)."""
        claim = get_json(self.kubeconfig, "pvc", f"{STRATEGY}-bot-state", "-n", self.namespace)
        volume = get_json(self.kubeconfig, "pv", claim["spec"]["volumeName"])
        found: set[tuple[str, str]] = set()
        for path in Path(volume["spec"]["local"]["path"]).glob("slot-*/outbox.sqlite3"):
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
                found.update((str(k), str(i)) for k, i in db.execute("SELECT kind, item_id FROM outbox"))
        return found

    def outbox_pending(self) -> int:
        return len(self.outbox_items())

    # -- waiting -------------------------------------------------------------------------

    def steady(self, timeout: float = 180) -> str:
        """Three Ready bots, none terminating, and a live leader among them; returns the leader's pod name."""

        def ready() -> str | None:
            pods = [p for p in self.bot_pods() if not p["metadata"].get("deletionTimestamp")]
            ready = {p["metadata"]["name"] for p in pods if _pod_ready(p)}
            holder = self.live_holder()
            return holder if len(pods) == 3 and len(ready) == 3 and holder in ready else None

        holder: str = wait_for("three Ready bots and a live leader", ready, timeout, 1)
        return holder

    def live_holder(self, within: float = 3 * LEASE_SECONDS / 10 + 1) -> str | None:
        """The Lease holder if it renewed in the last ``within`` seconds (a live leader renews every tenth
        of the lease duration)."""
        spec = self.lease()
        renewed = _micro_time(spec.get("renewTime"))
        holder = spec.get("holderIdentity") or None
        if holder is None or renewed is None or time.time() - renewed > within:
            return None
        return str(holder)

    def wait_renewal_after(self, since: float, not_by: str | None, timeout: float) -> tuple[float, str]:
        """(seconds from ``since`` to the first Lease renewal after it, holder), by anyone but ``not_by``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spec = self.lease()
            renewed = _micro_time(spec.get("renewTime"))
            holder = spec.get("holderIdentity") or ""
            if holder and renewed is not None and renewed > since and holder != not_by:
                return renewed - since, holder
            time.sleep(0.1)
        raise DeployError(f"no replica renewed the Lease within {timeout:.0f} s (last: {self.lease()})")

    # -- chaos ---------------------------------------------------------------------------

    def kill_container(self, pod: str, container: str = "bot") -> float:
        """SIGKILL the container's main process from the host; returns the wall time it was sent."""
        body = get_json(self.kubeconfig, "pod", pod, "-n", self.namespace)
        status = next(c for c in body["status"]["containerStatuses"] if c["name"] == container)
        container_id = str(status["containerID"]).split("://", 1)[1]
        listed = ctr(nsenter(self.holder_pid), self.containerd_socket, "tasks", "list", timeout=30)
        pid = next(
            (int(line.split()[1]) for line in listed.stdout.splitlines() if line.startswith(container_id)),
            None,
        )
        if pid is None:
            raise DeployError(
                f"containerd lists no task for {pod}/{container} ({container_id}): {listed.stdout}"
            )
        sent = time.time()
        os.kill(pid, signal.SIGKILL)
        return sent

    def restart_node_daemon(self, name: str, timeout: float = 30) -> float:
        """Stop the node's ``name`` (kubelet, containerd) with SIGTERM and start it again with the same
        command line in the node's namespaces, as systemd would; returns the wall time it was stopped.
        Containers keep running meanwhile (containerd's shims outlive it)."""
        state = ClusterState.load(self.cluster_state_dir)
        if state is None:
            raise DeployError(f"no cluster state in {self.cluster_state_dir}")
        component = next((c for c in state.components if c.name == name), None)
        if component is None:
            raise DeployError(f"the node runs no {name} (it has {[c.name for c in state.components]})")
        argv = [
            part.decode() for part in Path(f"/proc/{component.pid}/cmdline").read_bytes().split(b"\0")[:-1]
        ]
        sent = time.time()
        os.kill(component.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{component.pid}").exists() and time.monotonic() < deadline:
            _reap(component.pid)
            time.sleep(0.1)
        if Path(f"/proc/{component.pid}").exists():
            os.kill(component.pid, signal.SIGKILL)
        with Path(component.log).open("ab") as log:
            process = subprocess.Popen(
                [*nsenter(self.holder_pid), *argv], stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                # As the node's own daemons: killed with the test run, and by `down` (the node's namespace).
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        component.pid = process.pid  # nsenter execs the daemon: same pid; `cluster down` stops it
        state.save()
        return sent

    def node_ready(self, timeout: float = 120) -> None:
        def ready() -> bool:
            nodes = get_json(self.kubeconfig, "nodes")["items"]
            return bool(nodes) and all(
                any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
                for n in nodes
            )

        wait_for("the node to be Ready", ready, timeout, 1)

    def delete_pods(self, *names: str) -> float:
        sent = time.time()
        run_kubectl(self.kubeconfig, "delete", "pod", "-n", self.namespace, "--wait=false", *names)
        return sent

    def set_backend(self, up: bool) -> None:
        run_kubectl(
            self.kubeconfig,
            "scale",
            "deployment",
            BACKEND,
            "-n",
            self.namespace,
            f"--replicas={1 if up else 0}",
        )
        if up:
            run_kubectl(
                self.kubeconfig, "rollout", "status", "deployment", BACKEND, "-n", self.namespace,
                "--timeout=120s", timeout=150,
            )  # fmt: skip
        else:
            wait_for(
                "the backend pod to go",
                lambda: (
                    not get_json(self.kubeconfig, "pods", "-n", self.namespace, "-l", f"app={BACKEND}")[
                        "items"
                    ]
                ),
                60,
            )

    def roll(self, marker: str) -> float:
        """A rolling update: the bots' CPU request (``marker``, e.g. 101m) changes their pod template, as a
        new image tag would (another tag of the same image would need a registry on this machine)."""
        patch = {"spec": {"resources": {"bot": {"requests": {"cpu": marker, "memory": "192Mi"}}}}}
        sent = time.time()
        run_kubectl(
            self.kubeconfig, "patch", "tradingstrategy", STRATEGY, "-n", self.namespace, "--type=merge",
            "-p", json.dumps(patch),
        )  # fmt: skip
        return sent

    def roll_and_watch(self, marker: str) -> tuple[float, float, float]:
        """A rolling update (:meth:`roll`) watched on the Lease every 0.2 s until the bots are steady again;
        returns the longest time without a live leader as (seconds, start, end)."""
        self.steady()
        samples: list[tuple[float, bool]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.time(), self.live_holder() is not None))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            self.roll(marker)
            self.rollout_done()
            self.steady()
        finally:
            stop.set()
            sampler.join(timeout=10)
        if len(samples) < 20:
            raise DeployError(f"only {len(samples)} Lease samples during the rolling update")
        return longest_gap(samples)

    def rollout_done(self, timeout: float = 300) -> None:
        run_kubectl(
            self.kubeconfig, "rollout", "status", "deployment", f"{STRATEGY}-bot", "-n", self.namespace,
            f"--timeout={int(timeout)}s", timeout=timeout + 30,
        )  # fmt: skip


def _reap(pid: int) -> None:
    """Collect a daemon this process started (a restarted one) once it exits, so it leaves no zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def _micro_time(value: object) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _read_journal(path: Path) -> JournalView:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        orders = {
            str(ref): journal_status(str(status), str(reason))
            for ref, status, reason in db.execute("SELECT order_ref, status, reason FROM orders")
        }
        decisions: dict[str, set[str]] = {}
        for signal_id, decision in db.execute("SELECT signal_id, decision FROM signals"):
            decisions.setdefault(str(signal_id), set()).add(str(decision))
    return JournalView(orders, decisions)


def backend_manifests(
    namespace: str, token: str, image: str = DEFAULT_WORKLOAD_IMAGE
) -> list[dict[str, Any]]:
    """The backend as a pod of its own (in production it is on Azure), its history on a claim so that
    scaling it to zero (the backend unreachable) loses nothing it had."""
    labels = {"app": BACKEND}
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "backend-token", "namespace": namespace},
         "stringData": {"token": token}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "backend-data", "namespace": namespace},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": BACKEND, "namespace": namespace},
         "spec": {"selector": labels, "ports": [{"name": "http", "port": BACKEND_PORT, "targetPort": BACKEND_PORT}]}},
        {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": BACKEND, "namespace": namespace},
            "spec": {
                "replicas": 1, "selector": {"matchLabels": labels}, "strategy": {"type": "Recreate"},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                        "containers": [{
                            "name": BACKEND, "image": image, "imagePullPolicy": "IfNotPresent",
                            "command": ["spyops", "backend", "--host", "0.0.0.0", "--port", str(BACKEND_PORT),
                                        "--store", "sqlite:/data/backend.sqlite3", "--token-file", "/token/token"],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": BACKEND_PORT}, "periodSeconds": 2},
                            "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                             {"name": "token", "mountPath": "/token", "readOnly": True},
                                             {"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - an emptyDir
                        }],
                        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "backend-data"}},
                                    {"name": "token", "secret": {"secretName": "backend-token"}},
                                    {"name": "tmp", "emptyDir": {}}],
                    },
                },
            },
        },
    ]  # fmt: skip


def strategy_manifest(namespace: str) -> dict[str, Any]:
    """The example strategy, sending to the backend pod, without a VpnLink, with a short Lease."""
    body: dict[str, Any] = yaml.safe_load(EXAMPLES[1].read_text())
    body["metadata"]["namespace"] = namespace
    spec = body["spec"]
    spec.pop("cloudLinkRef", None)
    spec["leaseDurationSeconds"] = LEASE_SECONDS
    # The example's limits stop new orders after a few minutes of trading; chaos needs trading throughout.
    spec["risk"].update({"maxOpenPositions": 1000, "maxDailyLoss": 1_000_000, "maxOrdersPerMinute": 60})
    spec["outbound"] = {
        "backendUrl": f"http://{BACKEND}.{namespace}.svc.cluster.local:{BACKEND_PORT}",
        "tokenSecretRef": {"name": "backend-token", "key": "token"},
    }
    return body


def start_trading(
    kubeconfig: Path,
    node: dict[str, Any],
    cluster_state_dir: Path,
    namespace: str,
    say: Callable[[str], None] = lambda _: None,
) -> Trading:
    """Create ``namespace`` with the backend, the example gateway and the strategy; return once an order
    reached the gateway and the three bots are steady."""
    token = secrets.token_hex(24)
    sandbox = node["sandbox"]
    trading = Trading(
        kubeconfig,
        namespace,
        int(sandbox["holder_pid"]),
        NodePaths(Path()).containerd_socket,
        cluster_state_dir,
        token,
    )
    run_kubectl(kubeconfig, "create", "namespace", namespace)
    docs = [*backend_manifests(namespace, token), strategy_manifest(namespace)]
    run_kubectl(kubeconfig, "apply", "-f", "-", input=yaml.safe_dump_all(docs))
    run_kubectl(kubeconfig, "apply", "-n", namespace, "-f", str(EXAMPLES[0]))
    say(f"{namespace}: waiting for the strategy to be Ready and trade ...")
    run_kubectl(
        kubeconfig, "wait", "-n", namespace, "--for=condition=Ready", f"ibkrgateway/{GATEWAY}",
        f"tradingstrategy/{STRATEGY}", "--timeout=300s", timeout=330,
    )  # fmt: skip
    wait_for("an order at the gateway simulator", lambda: orders_at_gateway(kubeconfig, namespace), 300, 3)
    trading.steady()
    return trading
