"""The dashboard as Static Web Apps serves it: the built bundle on one origin, the backend on another.

The site server applies the headers of the generated ``staticwebapp.config.json`` (as Static Web
Apps does), so Chromium enforces its Content-Security-Policy while the page loads history (CORS)
and follows the live stream (WebSocket) from the backend's origin.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from aiohttp import web

from spyops.backend.app import create_app
from spyops.backend.dashboard_build import SWA_CONFIG, build_dashboard
from spyops.backend.store.sqlite import SqliteStore
from spyops.schemas import AnomalyKind
from tests.backend.conftest import AUTH, TOKEN
from tests.backend.records import BASE_TIME, make_chain, make_signal
from tests.backend.server import serving
from tests.backend.test_dashboard_browser import CHROMIUM, NODE_TOOLS, node  # noqa: F401 (fixture)


@contextlib.asynccontextmanager
async def static_site(root: Path) -> AsyncIterator[str]:
    """Serve ``root`` like Static Web Apps: files, the SPA fallback, and the config's global headers."""

    def locate(name: str) -> tuple[Path, dict[str, str]]:
        config = json.loads((root / SWA_CONFIG).read_text())
        path = (root / name).resolve()
        if not path.is_file() or root.resolve() not in path.parents or name == SWA_CONFIG:
            path = root / config["navigationFallback"]["rewrite"].lstrip("/")
        return path, config["globalHeaders"]

    async def handle(request: web.Request) -> web.StreamResponse:
        path, headers = await asyncio.to_thread(locate, request.path.lstrip("/") or "index.html")
        response = web.FileResponse(path)
        response.headers.update(headers)
        return response

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_built_dashboard_on_its_own_origin_sees_live_signals(tmp_path: Path, node: str) -> None:  # noqa: F811
    bundle = tmp_path / "site"
    bundle.mkdir()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    seeded = make_signal(200, strike=590.0, rule=AnomalyKind.BUTTERFLY).model_copy(
        update={"event_time": now, "detected_at": now}
    )
    live = make_signal(201, strike=592.0, rule=AnomalyKind.PARITY).model_copy(
        update={"event_time": now + dt.timedelta(seconds=1), "detected_at": now + dt.timedelta(seconds=1)}
    )
    async with static_site(bundle) as site, static_site(bundle) as other_site:
        app = create_app(SqliteStore(tmp_path / "h.sqlite3"), TOKEN, cors_origins=(site,))
        async with serving(app) as backend:
            build_dashboard(bundle, backend)
            async with httpx.AsyncClient(base_url=backend, headers=AUTH) as http:
                chain = json.loads(make_chain(BASE_TIME, spot=590.2).model_dump_json())
                assert (await http.post("/v1/chain", json=chain)).status_code == 200
                seeded_json = json.loads(seeded.model_dump_json())
                assert (await http.post("/v1/signals", json=seeded_json)).status_code == 200
            process = await asyncio.create_subprocess_exec(
                node,
                str(Path(__file__).with_name("dashboard_cross_origin.cjs")),
                env={
                    **os.environ,
                    "SITE_URL": site + "/",
                    "OTHER_SITE_URL": other_site + "/",
                    "BACKEND_URL": backend,
                    "TOKEN": TOKEN,
                    "SIGNAL_JSON": live.model_dump_json(),
                    "NODE_TOOLS": str(NODE_TOOLS),
                    "CHROMIUM": str(CHROMIUM),
                },
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=180)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
    lines = stdout.decode().strip().splitlines()
    assert lines, f"no result from the browser script; stderr:\n{stderr.decode()[-3000:]}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{result.get('error')}\nsteps: {result.get('steps')}\n{stderr.decode()[-2000:]}"
    assert result["page_origin"] == site
    assert result["api_base"] == backend + "/"
    assert result["docs_link"] == backend + "/docs"
    assert result["history_rows"] == 1
    assert "script-src 'self';" in result["site_csp"]
    assert f"connect-src 'self' {backend} {backend.replace('http', 'ws', 1)};" in result["site_csp"]
    assert result["console_errors"] == []  # no CSP violation, no failed request
    assert result["other"] == {"state": result["other"]["state"], "history_rows": 0, "cors_blocked": True}
    assert result["other"]["state"] != "live"


def test_node_tools_present() -> None:
    # The browser test needs these; say so plainly when they are missing.
    assert shutil.which("node"), "node is missing"
    assert (NODE_TOOLS / "node_modules" / "playwright-core").exists(), "run `make node-tools`"
