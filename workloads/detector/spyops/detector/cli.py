"""`spyops detect FILE...`: run the detector over snapshot CSV files and print its signals."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer


class OutputFormat(StrEnum):
    JSONL = "jsonl"
    TABLE = "table"


def signal_record(signal: Any, tradable: bool) -> dict[str, Any]:
    """The flat JSON form of a signal the command prints (timestamps as in the CSV files)."""
    from spyops.market.snapshot_csv import format_ts

    order = signal.suggested_order
    return {
        "id": signal.id,
        "ts": format_ts(signal.event_time),
        "underlying": signal.underlying,
        "expiry": signal.expiry.isoformat(),
        "strike": signal.culprit.strike,
        "right": signal.culprit.right.value,
        "rule": signal.rule.value,
        "edge": signal.edge,
        "score": signal.score,
        "tradable": tradable,
        "legs": [
            {
                "strike": leg.contract.strike,
                "right": leg.contract.right.value,
                "action": leg.action.value,
                "ratio": leg.ratio,
                "limit_price": leg.limit_price,
            }
            for leg in (order.legs if order is not None else ())
        ],
        "quantity": order.quantity if order is not None else 0,
        "net_price": order.net_price if order is not None else None,
    }


def _table_row(record: dict[str, Any]) -> str:
    legs = "; ".join(
        f"{leg['action']} {leg['ratio']} {leg['strike']:g}{leg['right']} @{leg['limit_price']:.2f}"
        for leg in record["legs"]
    )
    return (
        f"{record['ts']:<32} {record['expiry']:<10} {record['strike']:>8.2f} {record['right']:<1} "
        f"{record['rule']:<15} {record['edge']:>9.2f} {record['score']:>8.2f} {record['id']}  {legs or '-'}"
    )


def detect(
    files: Annotated[list[Path], typer.Argument(help="Snapshot CSV files (see README: Market data files).")],
    output: Annotated[OutputFormat, typer.Option("--format", help="jsonl: one JSON object per signal.")] = (
        OutputFormat.JSONL
    ),
    min_edge: Annotated[
        float | None, typer.Option("--min-edge", help="Dollars per unit after costs.")
    ] = None,
    fee: Annotated[float | None, typer.Option("--fee-per-contract", help="Commission per contract.")] = None,
    iv_zscore: Annotated[
        float | None, typer.Option("--iv-zscore", help="Robust z for smile outliers.")
    ] = None,
    stale_after_ms: Annotated[
        int | None, typer.Option("--stale-after-ms", help="Quote age that is stale.")
    ] = None,
    clear_after: Annotated[
        int | None, typer.Option("--clear-after-snapshots", help="Clean snapshots that end an episode.")
    ] = None,
    every_snapshot: Annotated[
        bool, typer.Option("--every-snapshot", help="Print every finding of every snapshot (no hysteresis).")
    ] = False,
) -> None:
    """Detect anomalies in chain snapshots; print one signal per anomaly episode."""
    from spyops.detector.rules import ScanParams, scan_chain
    from spyops.detector.tracker import SignalTracker, build_signal
    from spyops.market.snapshot_csv import SnapshotFormatError, read_snapshots
    from spyops.schemas import DetectorSettings

    overrides = {
        "min_edge": min_edge,
        "fee_per_contract": fee,
        "iv_zscore": iv_zscore,
        "stale_after_ms": stale_after_ms,
        "clear_after_snapshots": clear_after,
    }
    try:
        settings = DetectorSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        typer.echo(f"error: invalid detector settings: {exc}", err=True)
        raise typer.Exit(2) from exc
    params = ScanParams.from_settings(settings)
    tracker = SignalTracker(settings.clear_after_snapshots)
    if output is OutputFormat.TABLE:
        header = f"{'ts':<32} {'expiry':<10} {'strike':>8} R {'rule':<15} {'edge':>9} {'score':>8}"
        typer.echo(f"{header} {'id':<32}  legs")
    for path in files:
        if not path.is_file():
            typer.echo(f"error: {path}: no such file", err=True)
            raise typer.Exit(2)
        try:
            for chain in read_snapshots(path):
                findings = scan_chain(chain, params)
                if every_snapshot:
                    emitted = [(f, chain.ts) for f in findings]
                else:
                    emitted = [(e.finding, e.episode_start) for e in tracker.update(chain, findings)]
                for finding, start in emitted:
                    signal = build_signal(
                        finding, chain, episode_start=start, detected_at=dt.datetime.now(dt.UTC)
                    )
                    record = signal_record(signal, finding.tradable)
                    typer.echo(json.dumps(record) if output is OutputFormat.JSONL else _table_row(record))
        except SnapshotFormatError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
