"""The demo's monitoring configuration: pure parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spyops.demo.monitoring import DemoMonitoring, describe, platform_targets, workload_target
from spyops.demo.ports import DemoPorts
from spyops.demo.scenario import load_scenario
from spyops.monitoring.files import REPO_ROOT, RULES_FILE
from spyops.monitoring.stack import MonitoringError, Target, prometheus_config


def test_every_demo_process_is_a_target_with_the_labels_the_rules_use() -> None:
    ports = DemoPorts(9000)
    targets = platform_targets(ports, "default", "paper-sim") + [
        workload_target("bot", ports.bot_probe(i), "default", "spy-0dte", f"bot-{i}") for i in range(3)
    ]
    config = prometheus_config(targets, "127.0.0.1:9021", [RULES_FILE])
    assert config["rule_files"] == [str(RULES_FILE)]
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9021"]
    jobs = {c["job_name"]: c for c in config["scrape_configs"]}
    assert jobs["spyops-operator"]["honor_labels"] is True
    assert jobs["spyops-bot"]["honor_labels"] is False
    bots = jobs["spyops-bot"]["static_configs"]
    assert [g["targets"] for g in bots] == [["127.0.0.1:9010"], ["127.0.0.1:9011"], ["127.0.0.1:9012"]]
    assert bots[0]["labels"] == {
        "component": "bot",
        "namespace": "default",
        "pod": "bot-0",
        "strategy": "spy-0dte",
    }
    addresses = [t for c in config["scrape_configs"] for g in c["static_configs"] for t in g["targets"]]
    assert len(addresses) == len(set(addresses)) == 9


def test_one_job_cannot_mix_paths() -> None:
    with pytest.raises(MonitoringError, match="own job"):
        prometheus_config([Target("j", "a:1"), Target("j", "a:2", path="/other")], "am:1", [])


def test_notifications_are_printed_once_and_never_half_written(tmp_path: Path) -> None:
    monitoring = DemoMonitoring(tmp_path, DemoPorts(9000), print)
    monitoring.dir.mkdir(parents=True)
    first = {"receiver": "telegram", "chat_id": "1", "text": "<b>[FIRING:1] SpyopsVpnLinkDown</b>\nmore"}
    second = {"receiver": "email", "rcpt_tos": ["a@b"], "subject": "[FIRING:1] X strategy=s"}
    monitoring.records.write_text(json.dumps(first) + "\n" + json.dumps(second)[:10])
    assert monitoring.new_notifications() == ["Telegram chat 1: [FIRING:1] SpyopsVpnLinkDown"]
    monitoring.records.write_text(json.dumps(first) + "\n" + json.dumps(second) + "\n")
    assert monitoring.new_notifications() == ["email to a@b: [FIRING:1] X strategy=s"]
    assert monitoring.new_notifications() == []
    assert describe({"receiver": "telegram", "chat_id": "2", "text": ""}) == "Telegram chat 2: "


def test_the_alerts_scenario_is_valid() -> None:
    scenario = load_scenario(REPO_ROOT / "examples" / "demo-alerts-scenario.yaml")
    assert [s.action for s in scenario.steps] == [
        "inject",
        "gateway-disconnect",
        "gateway-reconnect",
        "link-down",
        "link-up",
    ]
