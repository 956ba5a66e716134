"""Optional webhook notice in Alertmanager's v2 API shape (``POST /api/v2/alerts``).

A firing alert is sent when the link goes Down (``endsAt`` absent), a resolved one
(``endsAt`` = now) when it recovers; Alertmanager groups them by labels. The URL may
carry credentials (basic auth, a token in the query), so only its host appears in
messages.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ALERT_NAME = "SpyopsVpnLinkDown"


def _tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx wants an SSLContext for a private CA bundle."""
    return ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify


@dataclass(frozen=True)
class NotifyOutcome:
    ok: bool
    message: str


def alerts_url(webhook_url: str) -> str:
    """A bare Alertmanager base URL gets ``/api/v2/alerts``; a full path is used as given."""
    parts = urlsplit(webhook_url)
    if parts.path in ("", "/"):
        parts = parts._replace(path="/api/v2/alerts")
    return urlunsplit(parts)


def safe_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}"


def build_alert(
    *,
    link: str,
    namespace: str,
    firing: bool,
    summary: str,
    description: str,
    started_at: dt.datetime,
    now: dt.datetime,
    generator_url: str = "",
) -> list[dict[str, Any]]:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": ALERT_NAME,
            "vpnlink": link,
            "namespace": namespace,
            "severity": "critical",
            "source": "spyops-operator",
        },
        "annotations": {"summary": summary, "description": description},
        "startsAt": started_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
    }
    if not firing:
        alert["endsAt"] = now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if generator_url:
        alert["generatorURL"] = generator_url
    return [alert]


async def send_alert(
    webhook_url: str, alerts: list[dict[str, Any]], timeout_seconds: float = 5.0, verify: bool | str = True
) -> NotifyOutcome:
    """POST the alerts; never raises. 2xx is success."""
    url = alerts_url(webhook_url)
    where = safe_host(url)
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, verify=_tls_verify(verify)) as client:
            response = await client.post(url, json=alerts)
    except httpx.TimeoutException:
        return NotifyOutcome(False, f"webhook {where} did not answer within {timeout_seconds:g} s")
    except httpx.HTTPError as exc:
        return NotifyOutcome(False, f"webhook {where} unreachable: {type(exc).__name__}")
    if 200 <= response.status_code < 300:
        return NotifyOutcome(True, f"webhook {where} accepted the alert (HTTP {response.status_code})")
    return NotifyOutcome(False, f"webhook {where} answered HTTP {response.status_code}")
