"""`spyops backend` as an operator runs it: configuration errors, startup, probes, no secrets in logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest

from spyops.backend.auth import TokenConfigError, load_token
from spyops.backend.store.factory import StoreSpecError, store_from_spec
from spyops.backend.store.sqlite import SqliteStore
from spyops.backend.store.table import TableStore
from tests.backend.azurite_dev import DEV_CONNECTION_STRING
from tests.backend.conftest import TOKEN
from tests.backend.records import make_signal


def test_store_spec() -> None:
    assert isinstance(store_from_spec("sqlite:/tmp/x.sqlite3"), SqliteStore)
    table = store_from_spec("table:TABLES", {"TABLES": DEV_CONNECTION_STRING})
    assert isinstance(table, TableStore)
    assert "AccountKey" not in table.description
    for spec, fragment in (
        ("sqlite", "expected sqlite:PATH"),
        ("table:DefaultEndpointsProtocol=http;AccountName=x", "NAME of the environment variable"),
        ("table:UNSET_VAR", "empty or unset"),
        ("mysql:db", "unknown store"),
    ):
        with pytest.raises(StoreSpecError, match=fragment):
            store_from_spec(spec, {})


def test_store_spec_with_a_managed_identity() -> None:
    table = store_from_spec("table:https://stspyopsdev01.table.core.windows.net", {}, table_prefix="spyops")
    assert isinstance(table, TableStore)
    assert table.description == (
        "table:https://stspyopsdev01.table.core.windows.net (azure-identity) (prefix spyops)"
    )
    for spec in ("table:http://stspyopsdev01.table.core.windows.net", "table:https://x.example/?sig=abc"):
        with pytest.raises(StoreSpecError, match="must be an https URL without query"):
            store_from_spec(spec, {})


async def start_refused(env: dict[str, str], *args: str) -> list[str]:
    """Run `spyops backend` expecting it to refuse to start (exit 2); its stderr lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "spyops",
        "backend",
        "--port",
        "0",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 2
    return stderr.decode().strip().splitlines()


async def test_bad_cors_origin_stops_the_start_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPYOPS_")}
    env |= {"SPYOPS_BACKEND_TOKEN": TOKEN, "SPYOPS_CORS_ORIGINS": "https://dash.example/app"}
    env["SPYOPS_STORE"] = f"sqlite:{tmp_path / 'h.sqlite3'}"
    lines = await start_refused(env)
    assert len(lines) == 1, lines
    assert (
        "origin 'https://dash.example/app' must be scheme://host[:port] only" in json.loads(lines[0])["msg"]
    )


def test_token_sources(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    assert load_token(secret, {}) == TOKEN
    assert load_token(None, {"SPYOPS_BACKEND_TOKEN": TOKEN}) == TOKEN
    with pytest.raises(TokenConfigError, match="no write token"):
        load_token(None, {})
    with pytest.raises(TokenConfigError, match="cannot read the token file"):
        load_token(tmp_path / "missing", {})
    secret.write_text("short")
    with pytest.raises(TokenConfigError, match="shorter than 16"):
        load_token(secret, {})


async def test_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SPYOPS_BACKEND_TOKEN"}
    lines = await start_refused(env, "--store", f"sqlite:{tmp_path / 'h.sqlite3'}")
    line = json.loads(lines[-1])
    assert line["level"] == "error"
    assert "no write token" in line["msg"]


async def test_serves_with_a_mounted_token_and_never_logs_secrets(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text(TOKEN)
    signalr = "Endpoint=http://127.0.0.1;Port=9;AccessKey=signalr-secret-key-0123456789abcdef;Version=1.0;"
    env = {k: v for k, v in os.environ.items() if k != "SPYOPS_BACKEND_TOKEN"}
    env["SPYOPS_SIGNALR_CONNECTION_STRING"] = signalr
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "spyops",
        "backend",
        "--port",
        "0",
        "--token-file",
        str(secret),
        "--store",
        f"sqlite:{tmp_path / 'h.sqlite3'}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    logged: list[str] = []
    try:
        port = None
        async with asyncio.timeout(60):
            while port is None:
                raw = await process.stderr.readline()
                assert raw, "the backend exited: " + "".join(logged)
                logged.append(raw.decode())
                entry = json.loads(raw)
                if entry.get("event") == "listening":
                    port = entry["port"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(100):
                if (await http.get("/ready")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert (await http.get("/health")).json()["status"] == "ok"
            body = json.loads(make_signal(1).model_dump_json())
            assert (await http.post("/v1/signals", json=body)).status_code == 401
            ok = await http.post("/v1/signals", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.json()["stored"] == 1
            await asyncio.sleep(1.0)  # the SignalR publisher tries (and fails: nothing listens on port 9)
    finally:
        process.terminate()
        _, rest = await asyncio.wait_for(process.communicate(), timeout=30)
        logged.append(rest.decode())
    text = "".join(logged)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal so the exit says why.
    assert process.returncode in (0, -signal.SIGTERM), text
    assert "Application shutdown complete." in text
    assert TOKEN not in text
    assert "signalr-secret-key" not in text
    for line in text.strip().splitlines():
        json.loads(line)  # every line is JSON
