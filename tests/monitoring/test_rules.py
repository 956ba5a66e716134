"""The alert rules: promtool checks them, runs their unit tests, and every alert is tested both ways."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from spyops.monitoring.files import CHART_DIR, RULE_TESTS_DIR, RULES_FILE
from spyops.monitoring.stack import render_chart

README = CHART_DIR.parents[1] / "README.md"
TESTS = RULE_TESTS_DIR / "spyops-alerts.test.yaml"


def _alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES_FILE.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def promtool(tools: dict[str, Path], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tools["promtool"]), *args], capture_output=True, text=True, timeout=300)


def test_promtool_check_rules_lints_clean(monitoring_tools: dict[str, Path]) -> None:
    result = promtool(monitoring_tools, "check", "rules", "--lint=all", "--lint-fatal", str(RULES_FILE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass(monitoring_tools: dict[str, Path]) -> None:
    result = promtool(monitoring_tools, "test", "rules", str(TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_fails_a_wrong_expectation(monitoring_tools: dict[str, Path], tmp_path: Path) -> None:
    """The unit tests can fail: the same file with one expected label changed does."""
    text = TESTS.read_text().replace(f"../../{RULES_FILE.relative_to(CHART_DIR.parents[1])}", str(RULES_FILE))
    broken = text.replace(
        "{severity: critical, namespace: prod, strategy: spy-0dte}",
        "{severity: critical, namespace: prod, strategy: spy-ok}",
    )
    assert broken != text
    (tmp_path / "broken.test.yaml").write_text(broken)
    result = promtool(monitoring_tools, "test", "rules", str(tmp_path / "broken.test.yaml"))
    assert result.returncode != 0
    assert "SpyopsTradingBotDown" in result.stdout + result.stderr


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    cases = [
        case
        for test in yaml.safe_load(TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    ]
    for alert in _alerts():
        name = alert["alert"]
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c.get("exp_alerts") for c in mine), f"{name}: no case where it fires"
        assert any(not c.get("exp_alerts") for c in mine), f"{name}: no case where it must stay silent"


def test_every_alert_has_severity_summary_description_and_a_runbook_in_the_readme() -> None:
    readme = README.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", readme, re.M)
    }
    for alert in _alerts():
        name = alert["alert"]
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert alert["annotations"]["summary"], name
        assert alert["annotations"]["description"], name
        url = alert["annotations"]["runbook_url"]
        assert url.endswith("README.md#" + name.lower()), name
        assert name.lower() in anchors, f"README.md has no runbook section '#### {name}'"


def test_the_chart_ships_the_same_rules_as_a_prometheus_rule(
    helm: Path, monitoring_tools: dict[str, Path], tmp_path: Path
) -> None:
    values = {
        "monitoring": {"prometheusRule": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}}
    }
    (rule,) = render_chart(helm, values, "templates/prometheusrule.yaml", tmp_path / "values.yaml")
    assert rule["kind"] == "PrometheusRule"
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert rule["spec"] == yaml.safe_load(RULES_FILE.read_text())
    # promtool reads plain rule files: the CR's spec is one.
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(rule["spec"]))
    result = promtool(monitoring_tools, "check", "rules", str(tmp_path / "spec.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
