"""The chart's monitoring objects: rendered by helm, checked by amtool, refused with one line when wrong."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from spyops.monitoring.files import CHART_DIR, DASHBOARDS_DIR
from spyops.monitoring.stack import MonitoringError, StackPorts, alertmanager_values, render_chart


def _render(helm: Path, tmp_path: Path, values: dict[str, Any]) -> list[dict[str, Any]]:
    (tmp_path / "v.yaml").write_text(yaml.safe_dump(values))
    out = subprocess.run(
        [str(helm), "template", "spyops", str(CHART_DIR), "-f", str(tmp_path / "v.yaml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_monitoring_objects_are_off_by_default(helm: Path, tmp_path: Path) -> None:
    kinds = {(d["kind"], d["metadata"]["name"]) for d in _render(helm, tmp_path, {})}
    assert not any(kind == "PrometheusRule" for kind, _ in kinds)
    assert not any(name.endswith("-alertmanager") or "spyops-spyops-" in name for _, name in kinds)


def test_dashboards_are_configmaps_for_the_grafana_sidecar(helm: Path, tmp_path: Path) -> None:
    values = {"monitoring": {"dashboards": {"enabled": True, "annotations": {"grafana_folder": "spyops"}}}}
    maps = [
        d
        for d in _render(helm, tmp_path, values)
        if d["kind"] == "ConfigMap" and "grafana_dashboard" in d["metadata"]["labels"]
    ]
    assert len(maps) == 4
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert cm["metadata"]["annotations"] == {"grafana_folder": "spyops"}
        ((name, text),) = cm["data"].items()
        assert json.loads(text) == json.loads((DASHBOARDS_DIR / name).read_text())


def _am_values(tmp_path: Path, **telegram: Any) -> dict[str, Any]:
    values = alertmanager_values(StackPorts(9090, 9093, 2525, 8443), tmp_path, tmp_path / "token")
    values["monitoring"]["alertmanager"]["telegram"].update(telegram)
    return values


def test_alertmanager_config_passes_amtool_and_routes_by_severity_and_strategy(
    helm: Path, monitoring_tools: dict[str, Path], tmp_path: Path
) -> None:
    values = _am_values(tmp_path)
    values["monitoring"]["alertmanager"]["strategies"] = {"spy-0dte": {"telegramChatId": -100777}}
    (secret,) = render_chart(helm, values, "templates/alertmanager-config.yaml", tmp_path / "values.yaml")
    assert secret["kind"] == "Secret"
    config = tmp_path / "alertmanager.yaml"
    config.write_text(secret["stringData"]["alertmanager.yaml"])
    (tmp_path / "spyops.tmpl").write_text(secret["stringData"]["spyops.tmpl"])
    amtool = str(monitoring_tools["amtool"])
    check = subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout
    parsed = yaml.safe_load(config.read_text())
    telegram = next(r for r in parsed["receivers"] if r["name"] == "spyops-critical-spy-0dte")[
        "telegram_configs"
    ][0]
    assert telegram["chat_id"] == -100777
    assert telegram["bot_token_file"] == str(tmp_path / "token")
    for labels, receiver in (
        (["severity=critical", "strategy=spy-0dte"], "spyops-critical-spy-0dte"),
        (["severity=critical", "strategy=other"], "spyops-critical"),
        (["severity=warning", "strategy=spy-0dte"], "spyops-warning"),
        (["severity=info"], "spyops-info"),
    ):
        routed = subprocess.run(
            [
                amtool,
                "config",
                "routes",
                "test",
                f"--config.file={config}",
                f"--verify.receivers={receiver}",
                *labels,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert routed.returncode == 0, f"{labels}: {routed.stdout}{routed.stderr}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"email": {"enabled": True, "smarthost": ""}}, "email needs to, from and smarthost"),
        (
            {"telegram": {"enabled": False}, "email": {"enabled": False}},
            "needs monitoring.alertmanager.telegram.enabled",
        ),
        ({"telegram": {"chatId": 0}}, "telegram.chatId is required"),
        ({"email": {"smarthost": "no-port"}}, "smarthost"),
    ],
)
def test_bad_alertmanager_values_are_refused_in_one_line(
    helm: Path, tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    values = _am_values(tmp_path)
    am = values["monitoring"]["alertmanager"]
    for key, sub in change.items():
        am[key].update(sub)
    with pytest.raises(MonitoringError, match=message) as error:
        render_chart(helm, values, "templates/alertmanager-config.yaml", tmp_path / "values.yaml")
    assert "Traceback" not in str(error.value)
