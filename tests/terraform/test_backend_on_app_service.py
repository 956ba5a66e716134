"""The backend as App Service runs it: the app settings the stack renders with dev's values, and the
backend started with exactly those settings against Azurite (Table Storage) with a managed identity.

`tofu test -json -verbose` plans terraform/stack with envs/dev/terraform.tfvars against the mocked
azurerm provider and prints the plan; the web app's ``app_settings`` come out of it. Then the backend starts as the image's default
command does (``spyops backend --host ...``, everything else from the environment) with:

- the rendered settings, Key Vault references resolved as App Service resolves them;
- the two things App Service itself provides: ``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER`` (the
  system-assigned identity; here azure-sim's App Service token endpoint), and a trusted TLS root
  (here the test's CA, for Azurite's HTTPS);
- two redirects a test machine needs: the table endpoint's host (``<account>.table.core.windows.net``
  becomes Azurite's ``https://127.0.0.1:<port>/devstoreaccount1``) and ``WEBSITES_PORT`` (a free port).

Azurite runs with ``--oauth basic`` over HTTPS and no account key reaches the backend, so every
table call is made with the identity's bearer token. The installed package stands in for the
backend image until the images work lands (the command is taken from the image's Dockerfile).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from azure.data.tables import TableServiceClient

from spyops.azuresim.server import AzureSim
from spyops.backend.azurite import running_azurite
from spyops.backend.cli import main as backend_main
from spyops.backend.store.table import table_names
from spyops.common.certs import CertificateAuthority
from spyops.infra.toolchain import InfraTools
from tests.backend.records import make_signal
from tests.backend.test_signalr import conn_string, fake_signalr
from tests.terraform.conftest import TERRAFORM_ROOT
from tests.terraform.rendered import log_messages, resolve_key_vault_references, resources_of_run
from tests.terraform.tofu_run import make_workspace, plan_stack

REPO = TERRAFORM_ROOT.parent
WEB_APP = "module.app_service.azurerm_linux_web_app.this"
DASHBOARD_ORIGIN = "https://test.azurestaticapps.net"  # the mocked Static Web App's host


@pytest.fixture(scope="module")
def rendered(infra_tools: InfraTools, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every resource the stack plans with dev's terraform.tfvars (mocked provider), by address."""
    workspace = make_workspace(tmp_path_factory)
    result = plan_stack(infra_tools, workspace, "dev")
    assert result.returncode == 0, f"tofu test failed:\n{result.stdout[-6000:]}\n{result.stderr}"
    return resources_of_run(log_messages(result.stdout), "plan")


def backend_env_names() -> set[str]:
    """Every environment variable `spyops backend` reads (its options' envvars, plus the others)."""
    app = typer.Typer()
    app.command()(backend_main)
    names: set[str] = set()
    for param in typer.main.get_command(app).params:
        envvar = param.envvar
        names.update([envvar] if isinstance(envvar, str) else list(envvar or ()))
    return names | {"SPYOPS_BACKEND_TOKEN", "SPYOPS_SIGNALR_CONNECTION_STRING"}


def image_command() -> list[str]:
    """ENTRYPOINT + CMD of the backend image (workloads/backend/Dockerfile), exec form."""
    entrypoint: list[str] = []
    cmd: list[str] = []
    for line in (REPO / "workloads" / "backend" / "Dockerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT "):
            entrypoint = json.loads(line.removeprefix("ENTRYPOINT "))
        elif line.startswith("CMD "):
            cmd = json.loads(line.removeprefix("CMD "))
    assert entrypoint[:2] == ["spyops", "backend"], entrypoint
    return entrypoint + cmd


def test_the_web_app_gets_exactly_what_the_backend_reads(rendered: dict[str, dict[str, Any]]) -> None:
    app = rendered[WEB_APP]
    settings: dict[str, str] = app["app_settings"]
    spyops_settings = {name for name in settings if name.startswith("SPYOPS_")}
    assert spyops_settings <= backend_env_names(), (
        f"settings the backend never reads: {sorted(spyops_settings - backend_env_names())}"
    )
    # History in Table Storage with the managed identity: an https endpoint, no connection string.
    assert settings["SPYOPS_STORE"] == "table:https://sttest.table.core.windows.net"
    assert not any("ConnectionString" in v or "AccountKey" in v for v in settings.values())
    assert settings["SPYOPS_CORS_ORIGINS"] == DASHBOARD_ORIGIN
    assert settings["SPYOPS_BACKEND_TOKEN"] == (
        "@Microsoft.KeyVault(SecretUri=https://kv-test.vault.azure.net/secrets/backend-write-token)"
    )
    # Traces go to Application Insights, its connection string a Key Vault reference (README, "Tracing").
    assert settings["OTEL_TRACES_EXPORTER"] == "azure_monitor"
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == (
        "@Microsoft.KeyVault(SecretUri=https://kv-test.vault.azure.net/secrets/appinsights-connection-string)"
    )
    token_secret = rendered['module.key_vault.azurerm_key_vault_secret.generated["backend-write-token"]']
    assert token_secret["name"] == "backend-write-token"
    site = app["site_config"][0]
    assert site["health_check_path"] == "/health"
    assert site["websockets_enabled"] is True
    assert settings["WEBSITES_PORT"] == "8080"

    # The tables Terraform creates are the backend's, for the prefix the app is given.
    planned_tables = {
        values["name"]
        for address, values in rendered.items()
        if address.startswith("module.storage.azurerm_storage_table.history[")
    }
    assert planned_tables == set(table_names(settings["SPYOPS_TABLE_PREFIX"]).values())
    account = rendered["module.storage.azurerm_storage_account.this"]
    assert account["shared_access_key_enabled"] is False
    role = rendered['module.storage.azurerm_role_assignment.table_data_contributor["backend"]']
    assert role["role_definition_name"] == "Storage Table Data Contributor"
    assert rendered['module.key_vault.azurerm_role_assignment.secrets_user["backend"]']


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def oauth_azurite(tls_dir: Path) -> Iterator[tuple[str, str, Path]]:
    """(table endpoint, account-key connection string for checking, CA file) of an HTTPS Azurite."""
    ca = CertificateAuthority(tls_dir, "spyops test CA")
    tls = ca.issue("azurite", "localhost", hosts=("localhost", "127.0.0.1", "::1"))
    with running_azurite(oauth_tls=(tls.cert, tls.key)) as connection_string:
        endpoint = connection_string.split("TableEndpoint=", 1)[1].rstrip(";")
        yield endpoint, connection_string, ca.ca.cert


@contextlib.asynccontextmanager
async def backend_process(env: dict[str, str], log: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    spyops = shutil.which("spyops", path=str(Path(sys.executable).parent))
    assert spyops, "the spyops command is not installed in this virtualenv (make setup)"
    argv = [spyops, *image_command()[1:]]
    argv[argv.index("--host") + 1] = "127.0.0.1"  # the container's 0.0.0.0, on loopback here
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(*argv, stdout=sink, stderr=sink, env=env)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_backend_runs_with_the_rendered_settings_against_azurite(
    rendered: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    settings: dict[str, str] = rendered[WEB_APP]["app_settings"]
    health_path = rendered[WEB_APP]["site_config"][0]["health_check_path"]
    token = secrets.token_hex(32)  # what the key-vault module generates: 64 hex digits
    vault = "https://kv-test.vault.azure.net/secrets"
    with oauth_azurite(tmp_path / "tls") as (endpoint, key_connection, ca_file):
        async with fake_signalr() as signalr, AzureSim(state_dir=tmp_path / "sim") as sim:
            assert sim.endpoints is not None
            resolved = resolve_key_vault_references(
                settings,
                {
                    f"{vault}/backend-write-token": token,
                    f"{vault}/signalr-connection-string": conn_string(signalr.port),
                    f"{vault}/appinsights-connection-string": "InstrumentationKey=00000000-0000-0000-0000-000000000000",
                },
            )
            # The test machine's only changes: where the table service is, and the port.
            assert resolved["SPYOPS_STORE"].startswith("table:https://")
            assert resolved["SPYOPS_STORE"].endswith(".table.core.windows.net")
            resolved["SPYOPS_STORE"] = f"table:{endpoint}"
            port = _free_port()
            resolved["WEBSITES_PORT"] = str(port)
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(tmp_path),
                **resolved,
                # What App Service injects for the system-assigned identity, and the trust store.
                "IDENTITY_ENDPOINT": sim.endpoints.identity_endpoint,
                "IDENTITY_HEADER": sim.config.identity_header,
                "SSL_CERT_FILE": str(ca_file),
            }
            base = f"http://127.0.0.1:{port}"
            log = tmp_path / "backend.log"
            async with (
                backend_process(env, log) as process,
                httpx.AsyncClient(base_url=base, timeout=10) as http,
            ):
                async with asyncio.timeout(90):
                    while True:
                        assert process.returncode is None, log.read_text()[-4000:]
                        with contextlib.suppress(httpx.HTTPError):
                            if (await http.get(health_path)).status_code == 200:
                                break
                        await asyncio.sleep(0.2)
                ready = await http.get("/ready")
                assert ready.status_code == 200, (ready.text, log.read_text()[-3000:])
                assert endpoint in ready.json()["detail"]

                signal_record = make_signal(1)
                body = json.loads(signal_record.model_dump_json())
                wrong = await http.post(
                    "/v1/signals", json=body, headers={"Authorization": "Bearer " + "x" * 64}
                )
                assert wrong.status_code == 401
                assert (await http.post("/v1/signals", json=body)).status_code == 401
                stored = await http.post(
                    "/v1/signals", json=body, headers={"Authorization": f"Bearer {token}"}
                )
                assert stored.status_code == 200, stored.text
                assert stored.json()["stored_ids"] == [signal_record.id]

                history = await http.get("/v1/signals", headers={"Origin": DASHBOARD_ORIGIN})
                assert [item["id"] for item in history.json()["items"]] == [signal_record.id]
                assert history.headers["access-control-allow-origin"] == DASHBOARD_ORIGIN
                other = await http.get("/v1/signals", headers={"Origin": "https://elsewhere.example"})
                assert "access-control-allow-origin" not in other.headers

                # Published to SignalR too, through its Key Vault reference.
                for _ in range(200):
                    if signalr.messages:
                        break
                    await asyncio.sleep(0.05)
                assert signalr.messages[0]["arguments"][0]["data"]["id"] == signal_record.id

            # The record is in Table Storage (read back with the account key, which the backend never
            # had), and the identity endpoint was asked for a storage token.
            prefix = resolved["SPYOPS_TABLE_PREFIX"]
            with TableServiceClient.from_connection_string(
                key_connection, connection_verify=str(ca_file)
            ) as service:
                listed = {table.name for table in service.list_tables()}
                assert set(table_names(prefix).values()) <= listed
                rows = list(service.get_table_client(table_names(prefix)["signals"]).list_entities())
            assert len(rows) == 1
            assert any(r.path == "/msi/token" and r.status == 200 for r in sim.sim.request_log)
            # It traced with the Azure Monitor exporter (nothing reaches Azure from here).
            assert '"exporter": "azure_monitor"' in log.read_text(), log.read_text()[-3000:]
            assert "AccountKey" not in json.dumps(env)
