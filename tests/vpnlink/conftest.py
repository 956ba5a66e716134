from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from spyops.operator.vpnlink.engine import LinkEngine
from tests.azuresim.fixtures import azure_sim
from tests.operator.conftest import operator_factory, operator_sa_kubeconfig, spyops_crds
from tests.vpnlink.cluster_support import AzureSimProcess, ProbeTarget
from tests.vpnlink.helpers import EngineFactory

__all__ = ["azure_sim", "engines", "operator_factory", "operator_sa_kubeconfig", "spyops_crds"]


@pytest.fixture
async def engines() -> AsyncIterator[EngineFactory]:
    """Make LinkEngines that are closed (their cached Azure clients too) after the test."""
    made: list[LinkEngine] = []

    def make(*args: Any, **kwargs: Any) -> LinkEngine:
        engine = LinkEngine(*args, **kwargs)
        made.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in made:
            await engine.close()


@pytest.fixture
def azure_sim_process(tmp_path: Path) -> Iterator[AzureSimProcess]:
    """`spyops azure-sim` as its own process (the operator subprocess reaches it over HTTPS)."""
    sim = AzureSimProcess(tmp_path / "azure-sim")
    try:
        yield sim.start()
    finally:
        sim.stop()


@pytest.fixture
def probe_target() -> Iterator[ProbeTarget]:
    target = ProbeTarget()
    target.up()
    try:
        yield target
    finally:
        target.down()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    outcome: Any = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for proc in item.funcargs.get("operator_factory", []) or []:  # type: ignore[attr-defined]
            report.sections.append((f"operator log ({proc.identity}, run {proc.runs})", proc.logs()[-8000:]))
