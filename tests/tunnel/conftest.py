from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.operator.conftest import operator_factory, operator_sa_kubeconfig, spyops_crds
from tests.tunnel.lab import TunnelLab
from tests.vpnlink.conftest import azure_sim_process

__all__ = ["azure_sim_process", "operator_factory", "operator_sa_kubeconfig", "spyops_crds"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    """A failed tunnel test shows both charons' logs."""
    outcome: Any = yield
    report = outcome.get_result()
    lab = item.funcargs.get("lab") if report.when == "call" and report.failed else None  # type: ignore[attr-defined]
    if isinstance(lab, TunnelLab):
        report.sections.append(("charon logs", lab.logs()))
