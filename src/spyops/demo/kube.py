"""What the demo does to the API server: kubectl for the steps a person would type, and
ServiceAccount kubeconfigs so the operator and the bots run with their real RBAC."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from spyops.cluster.kubectl import run_kubectl
from spyops.common import polling
from spyops.demo.supervisor import DemoError

T = TypeVar("T")


class Kube:
    def __init__(self, kubeconfig: Path) -> None:
        self.kubeconfig = kubeconfig

    def run(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        try:
            return run_kubectl(self.kubeconfig, *args, input=input, check=check, timeout=120)
        except subprocess.CalledProcessError as exc:
            raise DemoError(
                f"kubectl {' '.join(args)} failed: {exc.stderr.strip() or exc.stdout.strip()}"
            ) from exc

    def get(self, *args: str) -> Any:
        return json.loads(self.run("get", *args, "-o", "json").stdout)

    def try_get(self, *args: str) -> Any | None:
        result = self.run("get", *args, "-o", "json", "--ignore-not-found", check=False)
        if result.returncode != 0 or not result.stdout.strip():
            return None
        return json.loads(result.stdout)

    def apply_documents(self, documents: list[dict[str, Any]], namespace: str | None = None) -> None:
        args = ["apply", "--server-side", "--force-conflicts", "--field-manager=spyops-demo", "-f", "-"]
        if namespace:
            args += ["-n", namespace]
        self.run(*args, input=yaml.safe_dump_all(documents))

    def service_account_kubeconfig(self, namespace: str, service_account: str, path: Path) -> Path:
        """A kubeconfig holding only a TokenRequest token of ``service_account`` (its RBAC, nothing more)."""
        token = self.run("create", "token", service_account, "-n", namespace, "--duration=24h").stdout.strip()
        admin = yaml.safe_load(self.kubeconfig.read_text())
        context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])["context"]
        cluster = next(c for c in admin["clusters"] if c["name"] == context["cluster"])
        user = f"{namespace}-{service_account}"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [cluster],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [
                {"name": user, "context": {"cluster": cluster["name"], "user": user, "namespace": namespace}}
            ],
            "current-context": user,
        }
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path


def wait_for(what: str, check: Callable[[], T | None], timeout: float, interval: float = 0.5) -> T:
    """Poll ``check`` (see spyops.common.polling); a timeout is a DemoError, which the demo prints."""
    return polling.wait_for(what, check, timeout, interval, error=DemoError)


def render_operator_rbac(release: str, namespace: str) -> list[dict[str, Any]]:
    """The chart's ServiceAccount and ClusterRole(+Binding) for the operator, rendered by helm."""
    from spyops.toolchain.helm import helm_template

    chart = Path(__file__).resolve().parents[3] / "charts" / "spyops"
    if not chart.is_dir():
        raise DemoError(f"the Helm chart is not at {chart}; run the demo from a spyops checkout")
    shown = ("--show-only", "templates/rbac.yaml", "--show-only", "templates/serviceaccount.yaml")
    return helm_template(release, "--namespace", namespace, *shown, chart=chart, error=DemoError)
