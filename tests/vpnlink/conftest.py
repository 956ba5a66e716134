from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from spyops.operator.vpnlink.engine import LinkEngine
from tests.azuresim.fixtures import azure_sim
from tests.vpnlink.helpers import EngineFactory

__all__ = ["azure_sim", "engines"]


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
