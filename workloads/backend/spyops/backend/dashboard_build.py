"""The dashboard as a static site (Azure Static Web Apps): the backend's static files, a ``config.js``
naming the backend, and ``staticwebapp.config.json`` with the security headers.

The backend must list the site's origin in ``SPYOPS_CORS_ORIGINS`` (Terraform does); the site's
Content-Security-Policy in turn lets the page talk to that backend only (HTTPS and WSS).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

STATIC_DIR = Path(__file__).parent / "static"  # the files the backend serves at /dashboard/
CONFIG_JS = "config.js"
SWA_CONFIG = "staticwebapp.config.json"
# Two years, subdomains included: what HSTS preload lists ask for.
HSTS = "max-age=63072000; includeSubDomains"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class DashboardBuildError(ValueError):
    """The backend URL or the output folder is unusable; the message says which and why."""


def backend_base(url: str) -> str:
    """``https://host[:port]/`` of the backend; plain http only on loopback (local tests)."""
    parsed = urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise DashboardBuildError(
            f"--backend-url {url!r} must be an https URL, e.g. https://app.azurewebsites.net"
        )
    if parsed.scheme == "http" and parsed.hostname not in _LOOPBACK:
        raise DashboardBuildError(f"--backend-url {url!r}: plain http is allowed on loopback only; use https")
    if parsed.query or parsed.fragment or parsed.path not in ("", "/"):
        raise DashboardBuildError(f"--backend-url {url!r} must be the backend's base URL, without a path")
    return f"{parsed.scheme}://{parsed.netloc}/"


def config_js(base: str) -> str:
    return (
        "// Written by `spyops dashboard build`: the backend this copy of the dashboard talks to.\n"
        '"use strict";\n'
        f"window.SPYOPS_CONFIG = Object.freeze({{ apiBase: {json.dumps(base)} }});\n"
    )


def content_security_policy(base: str) -> str:
    """Scripts and styles from the site only (no inline code), network to the backend only."""
    origin = base.rstrip("/")
    stream = origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {origin} {stream}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def staticwebapp_config(base: str) -> dict[str, Any]:
    """Azure Static Web Apps' configuration: security headers on every response, SPA fallback."""
    return {
        "globalHeaders": {
            "Content-Security-Policy": content_security_policy(base),
            "Strict-Transport-Security": HSTS,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
        },
        "navigationFallback": {"rewrite": "/index.html", "exclude": ["/*.{js,css,png,svg,ico,json}"]},
        "mimeTypes": {".json": "application/json"},
    }


def build_dashboard(out_dir: Path, backend_url: str, static_dir: Path = STATIC_DIR) -> list[Path]:
    """Write the site into ``out_dir`` (emptied first); return the files written."""
    base = backend_base(backend_url)
    if out_dir.exists() and not out_dir.is_dir():
        raise DashboardBuildError(f"--out {out_dir} exists and is not a folder")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    written: list[Path] = []
    for source in sorted(static_dir.iterdir()):
        if source.is_file() and source.name != CONFIG_JS:
            written.append(Path(shutil.copy2(source, out_dir / source.name)))
    (out_dir / CONFIG_JS).write_text(config_js(base), encoding="utf-8")
    (out_dir / SWA_CONFIG).write_text(
        json.dumps(staticwebapp_config(base), indent=2) + "\n", encoding="utf-8"
    )
    return [*written, out_dir / CONFIG_JS, out_dir / SWA_CONFIG]
