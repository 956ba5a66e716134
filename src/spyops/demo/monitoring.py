"""The demo's Prometheus and Alertmanager: scrape every local process, deliver alerts to local receivers.

Prometheus loads the chart's rule file; Alertmanager runs the chart's own configuration (rendered by
`helm template`) pointed at a local SMTP server and a local Telegram Bot API stand-in. Every
notification they receive is printed in the demo's output.
"""

from __future__ import annotations

import json
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from spyops.demo.ports import DemoPorts
from spyops.demo.supervisor import DemoError, ProcessSpec, Supervisor
from spyops.monitoring.stack import (
    MonitoringError,
    StackPorts,
    Target,
    alertmanager_argv,
    alertmanager_values,
    prometheus_argv,
    write_alertmanager_config,
    write_prometheus_config,
)


def platform_targets(ports: DemoPorts, namespace: str, gateway: str) -> list[Target]:
    """The processes every demo runs, apart from the strategy's workloads (added as they start)."""
    return [
        Target(
            "spyops-operator",
            f"127.0.0.1:{ports.operator_metrics}",
            {"component": "operator"},
            honor_labels=True,
        ),
        Target("spyops-backend", f"127.0.0.1:{ports.backend}", {"component": "backend"}),
        Target("azure-sim", f"127.0.0.1:{ports.azure_control}", {"component": "azure-sim"}),
        Target(
            "spyops-gateway",
            f"127.0.0.1:{ports.gateway_control}",
            {"component": "gateway", "namespace": namespace, "gateway": gateway},
        ),
        Target("prometheus", f"127.0.0.1:{ports.prometheus}", {"component": "prometheus"}),
        Target("alertmanager", f"127.0.0.1:{ports.alertmanager}", {"component": "alertmanager"}),
    ]


def workload_target(component: str, port: int, namespace: str, strategy: str, pod: str) -> Target:
    return Target(
        f"spyops-{component}",
        f"127.0.0.1:{port}",
        {"component": component, "namespace": namespace, "strategy": strategy, "pod": pod},
    )


def describe(record: dict[str, Any]) -> str:
    """One line for the demo's output: where it went and its first line."""
    if record["receiver"] == "email":
        return f"email to {', '.join(str(r) for r in record.get('rcpt_tos') or [])}: {record.get('subject')}"
    first = str(record.get("text", "")).strip().splitlines()[:1]
    text = first[0].replace("<b>", "").replace("</b>", "") if first else ""
    return f"Telegram chat {record.get('chat_id')}: {text}"


class DemoMonitoring:
    def __init__(self, state_dir: Path, ports: DemoPorts, say: Callable[[str], None]) -> None:
        self.dir = state_dir / "monitoring"
        self.ports = ports
        self.say = say
        self.records = self.dir / "notifications.jsonl"
        self._read = 0

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.prometheus}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.alertmanager}"

    def start(self, supervisor: Supervisor, targets: list[Target]) -> None:
        from spyops.toolchain.gobuild import GoBuildError
        from spyops.toolchain.helm import ensure_helm
        from spyops.toolchain.monitoring import ensure_monitoring_tools

        try:
            tools = ensure_monitoring_tools(progress=self.say)
            helm = ensure_helm()
        except GoBuildError as error:
            raise DemoError(f"Prometheus/Alertmanager (`make monitoring-tools`): {error}") from error
        self.dir.mkdir(parents=True, exist_ok=True)
        stack_ports = StackPorts(
            self.ports.prometheus, self.ports.alertmanager, self.ports.smtp, self.ports.telegram
        )
        token = self.dir / "telegram-bot-token"
        token.write_text(f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}\n")
        token.chmod(0o600)
        try:
            am_config = write_alertmanager_config(
                helm,
                alertmanager_values(stack_ports, self.dir / "alertmanager", token),
                self.dir / "alertmanager",
            )
        except MonitoringError as error:
            raise DemoError(str(error)) from error
        prom_config = write_prometheus_config(self.dir / "prometheus.yml", targets, self.ports.alertmanager)
        self.records.unlink(missing_ok=True)
        supervisor.start(
            ProcessSpec(
                name="receivers",
                argv=(
                    sys.executable, "-m", "spyops", "monitoring", "receivers",
                    "--smtp-port", str(self.ports.smtp),
                    "--telegram-port", str(self.ports.telegram),
                    "--telegram-token-file", str(token),
                    "--out", str(self.records),
                ),
                ready_url=f"http://127.0.0.1:{self.ports.telegram}/ready",
                stands_in_for="the SMTP server and api.telegram.org that Alertmanager delivers to",
            )
        )  # fmt: skip
        supervisor.start(
            ProcessSpec(
                name="alertmanager",
                argv=tuple(
                    alertmanager_argv(
                        tools["alertmanager"], am_config, self.dir / "am-data", self.ports.alertmanager
                    )
                ),
                ready_url=f"{self.alertmanager_url}/-/ready",
                stands_in_for="Alertmanager with the chart's configuration (monitoring.alertmanager)",
            )
        )
        supervisor.start(
            ProcessSpec(
                name="prometheus",
                argv=tuple(
                    prometheus_argv(
                        tools["prometheus"], prom_config, self.dir / "prom-data", self.ports.prometheus
                    )
                ),
                ready_url=f"{self.prometheus_url}/-/ready",
                stands_in_for="Prometheus with the chart's alert rules",
            )
        )
        supervisor.info.update(prometheusUrl=self.prometheus_url, alertmanagerUrl=self.alertmanager_url)
        supervisor.info["notifications"] = str(self.records)
        supervisor.save()
        self.say(
            f"  Prometheus {self.prometheus_url} scrapes {len(targets)} targets ({prom_config}); "
            f"Alertmanager {self.alertmanager_url} delivers to SMTP 127.0.0.1:{self.ports.smtp} and a Telegram "
            f"stand-in at 127.0.0.1:{self.ports.telegram}"
        )

    def new_notifications(self) -> list[str]:
        """Lines for the notifications received since the last call."""
        if not self.records.exists():
            return []
        lines = self.records.read_text().split("\n")[:-1]  # the last one may still be being written
        fresh, self._read = lines[self._read :], len(lines)
        return [describe(json.loads(line)) for line in fresh if line.strip()]
