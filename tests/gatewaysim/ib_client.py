"""The TWS client library the simulator's flows run with: ib_async (default) or ib_insync.

``SPYOPS_TEST_IB_CLIENT=ib_insync`` switches ``test_ib_async_flows.py`` to ib_insync 0.9.86.
ib_insync and ib_async cannot share one environment: each installs a module named ``eventkit``
(eventkit 1.0.3 and its fork aeventkit), so ib_insync lives in ``.venv/ib-insync`` (``make
ib-insync``) and runs in its own pytest process with that folder first on ``PYTHONPATH``
(``test_ib_insync_flows.py``). The two libraries have the same API (ib_async began as a rename
of ib_insync 0.9.86), so the types below are ib_async's for both.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Final

from spyops.gatewaysim.versions import MAX_SERVER_VERSION

LIBRARY: Final = os.environ.get("SPYOPS_TEST_IB_CLIENT", "ib_async")
if LIBRARY not in ("ib_async", "ib_insync"):
    raise RuntimeError(f"SPYOPS_TEST_IB_CLIENT must be ib_async or ib_insync, got {LIBRARY!r}")

if TYPE_CHECKING:
    from ib_async import (
        IB,
        ComboLeg,
        Contract,
        ExecutionFilter,
        LimitOrder,
        MarketOrder,
        Option,
        Order,
        Stock,
    )
else:
    _library = importlib.import_module(LIBRARY)
    IB = _library.IB
    ComboLeg = _library.ComboLeg
    Contract = _library.Contract
    ExecutionFilter = _library.ExecutionFilter
    LimitOrder = _library.LimitOrder
    MarketOrder = _library.MarketOrder
    Option = _library.Option
    Order = _library.Order
    Stock = _library.Stock

VERSION: Final[str] = importlib.import_module(LIBRARY).__version__


def negotiated_version() -> int:
    """What the simulator must pick for this library: the highest version both support."""
    return min(int(IB().client.MaxClientVersion), MAX_SERVER_VERSION)


__all__ = [
    "IB",
    "LIBRARY",
    "VERSION",
    "ComboLeg",
    "Contract",
    "ExecutionFilter",
    "LimitOrder",
    "MarketOrder",
    "Option",
    "Order",
    "Stock",
    "negotiated_version",
]
