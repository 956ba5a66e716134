"""Shared helpers: a running simulator, its control API over HTTP, and environment for managed identity."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyops.azuresim import AzureSim

# Variables that would steer azure-identity away from the simulator's endpoints.
_IDENTITY_ENV = (
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
)


async def start_sim(state_dir: Path) -> AzureSim:
    sim = AzureSim(state_dir=state_dir)
    await sim.start()
    return sim


def use_managed_identity(monkeypatch: pytest.MonkeyPatch, sim: AzureSim) -> None:
    assert sim.endpoints is not None
    for name in _IDENTITY_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IDENTITY_ENDPOINT", sim.endpoints.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", sim.config.identity_header)


async def control(sim: AzureSim, method: str, path: str, body: Any = None) -> dict[str, Any]:
    """Call the simulator's control API over HTTP; fail loudly on a non-2xx."""
    assert sim.endpoints is not None
    async with httpx.AsyncClient(base_url=sim.endpoints.control_url, timeout=10) as client:
        response = await client.request(method, path, json=body)
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
async def azure_sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AzureSim]:
    sim = await start_sim(tmp_path / "azure-sim")
    use_managed_identity(monkeypatch, sim)
    try:
        yield sim
    finally:
        await sim.stop()
