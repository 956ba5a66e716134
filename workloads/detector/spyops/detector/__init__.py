"""The anomaly detector: vectorized no-arbitrage and quote-quality rules over chain snapshots."""

from spyops.detector.rules import Finding, LegSpec, ScanParams, scan_chain
from spyops.detector.tracker import SignalTracker, build_signal, signal_id

__all__ = ["Finding", "LegSpec", "ScanParams", "SignalTracker", "build_signal", "scan_chain", "signal_id"]
