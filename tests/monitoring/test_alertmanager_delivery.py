"""The chart's Alertmanager configuration, run by the real Alertmanager, delivering to a local SMTP server
and a local Telegram Bot API stand-in: what arrives, where, and what is inhibited."""

from __future__ import annotations

import datetime as dt
import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyops.monitoring.receivers import read_records
from spyops.monitoring.stack import (
    TELEGRAM_CHAT_ID,
    StackPorts,
    alertmanager_argv,
    alertmanager_values,
    write_alertmanager_config,
)
from tests.monitoring.conftest import free_ports, process, wait_until


@dataclass
class Stack:
    alertmanager: str
    records: Path


@pytest.fixture
def stack(monitoring_tools: dict[str, Path], helm: Path, tmp_path: Path) -> Iterator[Stack]:
    ports = StackPorts(0, *free_ports(3))
    token = tmp_path / "bot-token"
    token.write_text(f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}\n")
    config_dir = tmp_path / "alertmanager"
    values = alertmanager_values(ports, config_dir, token)
    values["monitoring"]["alertmanager"]["groupWait"] = "1s"
    config = write_alertmanager_config(helm, values, config_dir)
    records = tmp_path / "notifications.jsonl"
    receivers_argv = [
        sys.executable, "-m", "spyops", "monitoring", "receivers",
        "--smtp-port", str(ports.smtp), "--telegram-port", str(ports.telegram),
        "--telegram-token-file", str(token), "--out", str(records),
    ]  # fmt: skip
    with (
        process(receivers_argv, tmp_path / "receivers.log", f"http://127.0.0.1:{ports.telegram}/ready"),
        process(
            alertmanager_argv(
                monitoring_tools["alertmanager"], config, tmp_path / "am-data", ports.alertmanager
            ),
            tmp_path / "alertmanager.log",
            f"http://127.0.0.1:{ports.alertmanager}/-/ready",
        ),
    ):
        yield Stack(f"http://127.0.0.1:{ports.alertmanager}", records)


def alert(name: str, severity: str, **labels: str) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "labels": {"alertname": name, "severity": severity, **labels},
        "annotations": {
            "summary": f"{name} summary",
            "description": f"{name} for {labels.get('strategy') or labels.get('vpnlink')}",
            "runbook_url": f"https://github.com/spyops/spyops/blob/main/README.md#{name.lower()}",
        },
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(minutes=10)).isoformat(),
    }


def post(stack: Stack, *alerts: dict[str, Any]) -> None:
    httpx.post(f"{stack.alertmanager}/api/v2/alerts", json=list(alerts), timeout=10).raise_for_status()


def notifications(stack: Stack, receiver: str, needle: str) -> list[dict[str, Any]]:
    return [
        r
        for r in read_records(stack.records)
        if r["receiver"] == receiver and needle in r.get("text", "") + r.get("subject", "")
    ]


def test_a_critical_alert_reaches_telegram_and_email_with_the_strategy(stack: Stack) -> None:
    post(stack, alert("SpyopsTradingBotDown", "critical", namespace="prod", strategy="spy-0dte"))
    (telegram,) = wait_until(
        "the Telegram message", lambda: notifications(stack, "telegram", "SpyopsTradingBotDown"), 30
    )
    assert telegram["chat_id"] == str(TELEGRAM_CHAT_ID)
    assert telegram["parse_mode"] == "HTML"
    assert "<b>[FIRING:1] SpyopsTradingBotDown strategy=spy-0dte</b>" in telegram["text"]
    assert "strategy: <code>spy-0dte</code>" in telegram["text"]
    (mail,) = wait_until("the email", lambda: notifications(stack, "email", "SpyopsTradingBotDown"), 30)
    assert mail["subject"] == "[FIRING:1] SpyopsTradingBotDown strategy=spy-0dte"
    assert mail["rcpt_tos"] == ["oncall@spyops.local"]
    assert "strategy=spy-0dte" in mail["text"]
    assert (
        "Runbook: https://github.com/spyops/spyops/blob/main/README.md#spyopstradingbotdown" in mail["text"]
    )


def test_a_warning_goes_to_email_only(stack: Stack) -> None:
    post(stack, alert("SpyopsTradingHalted", "warning", namespace="prod", strategy="spy-0dte"))
    wait_until("the email", lambda: notifications(stack, "email", "SpyopsTradingHalted"), 30)
    post(stack, alert("SpyopsTradingBotDown", "critical", namespace="prod", strategy="later"))
    wait_until(
        "a later critical alert on Telegram", lambda: notifications(stack, "telegram", "strategy=later"), 30
    )
    assert notifications(stack, "telegram", "SpyopsTradingHalted") == []


def test_a_vpnlink_down_inhibits_backend_unreachable(stack: Stack) -> None:
    post(
        stack,
        alert("SpyopsVpnLinkDown", "critical", namespace="prod", vpnlink="azure-edge", state="Down"),
        alert(
            "SpyopsBackendUnreachable", "warning", namespace="prod", strategy="spy-0dte", component="detector"
        ),
    )
    wait_until("the VpnLink notification", lambda: notifications(stack, "telegram", "SpyopsVpnLinkDown"), 30)
    wait_until("the VpnLink email", lambda: notifications(stack, "email", "SpyopsVpnLinkDown"), 30)

    def backend_alert_state() -> dict[str, Any] | None:
        listed = httpx.get(f"{stack.alertmanager}/api/v2/alerts", timeout=10).json()
        return next(
            (a["status"] for a in listed if a["labels"]["alertname"] == "SpyopsBackendUnreachable"), None
        )

    status = wait_until("the backend alert to be listed", backend_alert_state, 10)
    assert status["state"] == "suppressed"
    assert status["inhibitedBy"]
    # A warning of another namespace is not explained by this link.
    post(
        stack, alert("SpyopsBackendUnreachable", "warning", namespace="other", strategy="s2", component="bot")
    )
    wait_until("the other namespace's email", lambda: notifications(stack, "email", "strategy=s2"), 30)
    assert notifications(stack, "email", "strategy=spy-0dte") == []
