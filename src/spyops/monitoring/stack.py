"""Prometheus + Alertmanager on loopback, configured from the chart: used by the demo and the tests.

Pure parts (the scrape configuration, the Alertmanager values, the command lines) are plain
functions; ``render_alertmanager_config`` runs `helm template` on the chart, so the demo and the
tests deliver notifications with exactly the configuration the chart ships.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spyops.monitoring.files import CHART_DIR, RULES_FILE
from spyops.toolchain.helm import helm_template

# Fast enough that a demo failure is visible within a minute or two; the rule groups keep their own
# evaluation intervals (15 s / 30 s).
SCRAPE_INTERVAL = "5s"
TELEGRAM_CHAT_ID = 424242


class MonitoringError(RuntimeError):
    """A monitoring part could not be set up; the message says what and why."""


@dataclass(frozen=True)
class Target:
    """One /metrics endpoint and the labels its series get (component, namespace, strategy, pod, ...)."""

    job: str
    address: str  # host:port
    labels: dict[str, str] = field(default_factory=dict)
    path: str = "/metrics"
    honor_labels: bool = False  # the operator's per-object series carry their own namespace


@dataclass(frozen=True)
class StackPorts:
    prometheus: int
    alertmanager: int
    smtp: int
    telegram: int


def prometheus_config(
    targets: list[Target], alertmanager_address: str, rule_files: list[Path]
) -> dict[str, Any]:
    """prometheus.yml: one scrape job per (job, path, honor_labels), static targets with their labels."""
    jobs: dict[tuple[str, str, bool], list[dict[str, Any]]] = {}
    for target in targets:
        key = (target.job, target.path, target.honor_labels)
        jobs.setdefault(key, []).append(
            {"targets": [target.address], "labels": dict(sorted(target.labels.items()))}
        )
    scrape_configs = [
        {
            "job_name": job,
            "metrics_path": path,
            "honor_labels": honor,
            "static_configs": groups,
        }
        for (job, path, honor), groups in jobs.items()
    ]
    if len({c["job_name"] for c in scrape_configs}) != len(scrape_configs):
        raise MonitoringError(
            "two targets of one job differ in path or honor_labels; give them their own job"
        )
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "scrape_timeout": "4s", "evaluation_interval": "15s"},
        "rule_files": [str(p) for p in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_address]}]}]},
        "scrape_configs": scrape_configs,
    }


def alertmanager_values(ports: StackPorts, config_dir: Path, telegram_token_file: Path) -> dict[str, Any]:
    """Chart values that point the chart's Alertmanager config at the local receivers."""
    return {
        "monitoring": {
            "alertmanager": {
                "enabled": True,
                "templatesDir": str(config_dir),
                # The demo's alerts are minutes apart; group and repeat quickly so each one shows.
                "groupWait": "5s",
                "groupInterval": "30s",
                "repeatInterval": "1h",
                "telegram": {
                    "enabled": True,
                    "apiUrl": f"http://127.0.0.1:{ports.telegram}",
                    "chatId": TELEGRAM_CHAT_ID,
                    "botTokenFile": str(telegram_token_file),
                },
                "email": {
                    "enabled": True,
                    "to": "oncall@spyops.local",
                    "from": "alertmanager@spyops.local",
                    "smarthost": f"127.0.0.1:{ports.smtp}",
                    # The local server speaks plain SMTP on loopback.
                    "requireTls": False,
                },
            }
        }
    }


def render_chart(
    helm: Path, values: dict[str, Any], show_only: str, values_file: Path
) -> list[dict[str, Any]]:
    """One template of the chart rendered with ``values`` (written to ``values_file``)."""
    values_file.write_text(yaml.safe_dump(values))
    args = ("-f", str(values_file), "--show-only", show_only)
    return helm_template("spyops", *args, chart=CHART_DIR, helm=helm, error=MonitoringError)


def write_alertmanager_config(helm: Path, values: dict[str, Any], config_dir: Path) -> Path:
    """Render the chart's Alertmanager Secret and write its files (alertmanager.yaml, spyops.tmpl)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (secret,) = render_chart(helm, values, "templates/alertmanager-config.yaml", config_dir / "values.yaml")
    for name, text in secret["stringData"].items():
        (config_dir / name).write_text(text)
    return config_dir / "alertmanager.yaml"


def write_prometheus_config(path: Path, targets: list[Target], alertmanager_port: int) -> Path:
    config = prometheus_config(targets, f"127.0.0.1:{alertmanager_port}", [RULES_FILE])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def prometheus_argv(binary: Path, config: Path, data_dir: Path, port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
        "--web.enable-lifecycle",
        "--log.level=warn",
    ]


def alertmanager_argv(binary: Path, config: Path, data_dir: Path, port: int) -> list[str]:
    return [
        str(binary),
        f"--config.file={config}",
        f"--storage.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        # A single instance: no gossip port to open (or to collide with another engineer's).
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
