"""The anomaly detector: vectorized no-arbitrage and quote-quality rules over chain snapshots.

Names are imported lazily (PEP 562) so that mounting `spyops detect` on the command line
does not import numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spyops.detector.rules import Finding, LegSpec, ScanParams, scan_chain
    from spyops.detector.tracker import SignalTracker, build_signal, signal_id

_EXPORTS = {
    "Finding": "spyops.detector.rules",
    "LegSpec": "spyops.detector.rules",
    "ScanParams": "spyops.detector.rules",
    "scan_chain": "spyops.detector.rules",
    "SignalTracker": "spyops.detector.tracker",
    "build_signal": "spyops.detector.tracker",
    "signal_id": "spyops.detector.tracker",
}

__all__ = ["Finding", "LegSpec", "ScanParams", "SignalTracker", "build_signal", "scan_chain", "signal_id"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'spyops.detector' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
