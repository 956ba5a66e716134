"""The shared JSON body reader of our small aiohttp APIs: defaults, not-JSON and bad fields are named."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from spyops.common.json_body import read_model
from spyops.common.probes import ProbeServer
from tests.common.serving import serving


class Pause(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(default=2.0, ge=0)


async def lenient(request: web.Request) -> web.Response:
    return web.json_response((await read_model(request, Pause, empty_is_defaults=True)).model_dump())


async def strict(request: web.Request) -> web.Response:
    return web.json_response((await read_model(request, Pause)).model_dump())


async def test_empty_not_json_and_bad_fields() -> None:
    server = ProbeServer({}, extra_routes=[web.post("/lenient", lenient), web.post("/strict", strict)])
    async with serving(server) as base, aiohttp.ClientSession() as http:
        async with http.post(f"{base}/lenient") as r:
            assert (r.status, await r.json()) == (200, {"seconds": 2.0})
        async with http.post(f"{base}/strict") as r:
            assert r.status == 400
            assert (await r.json())["error"].startswith("body is not JSON (line 1, column 1")
        async with http.post(f"{base}/strict", data=b"{oops") as r:
            assert r.status == 400
            assert "not JSON" in (await r.json())["error"]
        async with http.post(f"{base}/strict", json={"seconds": -1, "extra": 1}) as r:
            assert r.status == 400
            body = await r.json()
            assert body["error"] == "invalid request body"
            assert [p["field"] for p in body["problems"]] == ["seconds", "extra"]
        async with http.post(f"{base}/strict", json=[1]) as r:
            assert r.status == 400
            assert (await r.json())["problems"][0]["field"] == "<body>"
