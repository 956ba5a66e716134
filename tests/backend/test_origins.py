"""Allowed origins (CORS, the stream's Origin check) and the static dashboard build: the pure parts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import websockets
from typer.testing import CliRunner

from spyops.backend.app import create_app
from spyops.backend.dashboard_build import (
    STATIC_DIR,
    DashboardBuildError,
    backend_base,
    build_dashboard,
    staticwebapp_config,
)
from spyops.backend.origins import OriginConfigError, normalize_origin, parse_origins, stream_origin_allowed
from spyops.backend.store.sqlite import SqliteStore
from spyops.cli import app as spyops_app
from tests.backend.conftest import TOKEN
from tests.backend.server import serving

SITE = "https://test.azurestaticapps.net"


def test_origins_are_normalized_like_browsers_send_them() -> None:
    assert normalize_origin("HTTPS://Test.AzureStaticApps.net:443/") == SITE
    assert normalize_origin("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    assert parse_origins(f"{SITE}, http://localhost:3000 {SITE}") == (SITE, "http://localhost:3000")
    assert parse_origins("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("*", "'\\*' is not accepted"),
        ("https://a.example/dashboard", "without a path"),
        ("a.example", "must look like https://host"),
        ("ftp://a.example", "must look like https://host"),
    ],
)
def test_bad_origins_are_refused_with_one_line(text: str, message: str) -> None:
    with pytest.raises(OriginConfigError, match=message):
        parse_origins(text)


def test_stream_origin_check() -> None:
    allowed = (SITE,)
    assert stream_origin_allowed(None, "app.azurewebsites.net", allowed)  # not a browser
    assert stream_origin_allowed(SITE, "app.azurewebsites.net", allowed)
    assert stream_origin_allowed(
        "https://app.azurewebsites.net", "app.azurewebsites.net", allowed
    )  # same origin
    assert not stream_origin_allowed("https://evil.example", "app.azurewebsites.net", allowed)
    assert not stream_origin_allowed("null", "app.azurewebsites.net", allowed)


async def test_api_and_stream_answer_exactly_the_listed_origin(tmp_path: Path) -> None:
    app = create_app(SqliteStore(tmp_path / "h.sqlite3"), TOKEN, cors_origins=(SITE,))
    async with serving(app) as base, httpx.AsyncClient(base_url=base) as client:
        allowed = await client.get("/v1/signals", headers={"Origin": SITE})
        assert allowed.headers["access-control-allow-origin"] == SITE
        other = await client.get("/v1/signals", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers
        preflight = await client.options(
            "/v1/signals", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 400  # reads only: a browser may not write
        stream = base.replace("http", "ws", 1) + "/v1/stream"
        for origin in (SITE, base, None):  # the listed origin, the same origin, no browser
            headers = {"Origin": origin} if origin else {}
            async with websockets.connect(stream, additional_headers=headers) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
        with pytest.raises(websockets.InvalidStatus, match="403"):
            async with websockets.connect(stream, additional_headers={"Origin": "https://evil.example"}):
                pass


def test_backend_url_checks() -> None:
    assert (
        backend_base("https://app-spyops-dev.azurewebsites.net")
        == "https://app-spyops-dev.azurewebsites.net/"
    )
    assert backend_base("http://127.0.0.1:8000/") == "http://127.0.0.1:8000/"
    for bad, message in [
        ("http://app.example", "plain http is allowed on loopback only"),
        ("https://app.example/api", "without a path"),
        ("app.example", "must be an https URL"),
    ]:
        with pytest.raises(DashboardBuildError, match=message):
            backend_base(bad)


def test_static_web_app_headers() -> None:
    headers = staticwebapp_config("https://app.example/")["globalHeaders"]
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "script-src 'self';" in csp
    assert "connect-src 'self' https://app.example wss://app.example;" in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


def test_the_dashboard_has_no_inline_script_or_style() -> None:
    # The CSP (script-src 'self', style-src 'self') would block them.
    html = (STATIC_DIR / "index.html").read_text()
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    for inline in ("<style", " style=", "onclick=", "onload="):
        assert inline not in html


def test_build_writes_the_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(
        spyops_app, ["dashboard", "build", "--backend-url", "https://app.example", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {p.name for p in STATIC_DIR.iterdir()} | {
        "staticwebapp.config.json"
    }
    assert '"https://app.example/"' in (out / "config.js").read_text()
    config = json.loads((out / "staticwebapp.config.json").read_text())
    assert config["navigationFallback"]["rewrite"] == "/index.html"
    # Nothing left over from an earlier build.
    (out / "stale.js").write_text("")
    build_dashboard(out, "https://app.example")
    assert not (out / "stale.js").exists()


def test_build_refuses_a_bad_url_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        spyops_app,
        ["dashboard", "build", "--backend-url", "http://app.example", "--out", str(tmp_path / "s")],
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --backend-url 'http://app.example': plain http is allowed on loopback only; use https"
    ]
