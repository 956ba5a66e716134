"""Generate labeled snapshot files from the market model (``spyops market generate``)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from spyops.market.model import MarketConfig, MarketModel
from spyops.market.snapshot_csv import GeneratedFiles


@dataclass(frozen=True)
class GenerateSummary:
    snapshot_path: Path
    label_path: Path
    snapshots: int
    contracts: int
    label_rows: int
    anomalies: dict[str, int]
    tradable_anomalies: int


def generate_files(
    out: Path,
    *,
    seed: int,
    minutes: float,
    session_date: dt.date,
    config: MarketConfig,
    interval_seconds: float = 0.1,
) -> GenerateSummary:
    """Run the model for ``minutes`` and write every snapshot and its labels."""
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    model = MarketModel(seed=seed, session_date=session_date, config=config)
    if minutes * 60.0 >= model.seconds_to_close:
        raise ValueError(
            f"{minutes} minutes from {model.now.time().isoformat()} runs past the 16:00 close "
            f"({model.seconds_to_close / 60.0:.1f} minutes left)"
        )
    steps = round(minutes * 60.0 / interval_seconds)
    kinds: dict[str, str] = {}
    tradable: set[str] = set()
    rows = 0
    with GeneratedFiles(out) as files:
        for _ in range(steps):
            chain = model.step(interval_seconds)
            files.snapshots.write(chain)
            labels = model.labels
            files.labels.write(labels)
            rows += len(labels)
            for label in labels:
                kinds[label.anomaly_id] = label.kind.value
                if label.tradable:
                    tradable.add(label.anomaly_id)
        return GenerateSummary(
            snapshot_path=files.snapshot_path,
            label_path=files.label_path,
            snapshots=steps,
            contracts=len(model.arrays),
            label_rows=rows,
            anomalies=dict(sorted(Counter(kinds.values()).items())),
            tradable_anomalies=len(tradable),
        )
