"""`spyops market ...`: the simulated market's command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(name="market", help="The simulated SPY 0DTE market.", no_args_is_help=True)


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory for snapshots.csv and labels.csv.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same files.")] = 1,
    minutes: Annotated[float, typer.Option("--minutes", help="Simulated minutes to write.", min=0.01)] = 5.0,
    date: Annotated[
        str, typer.Option("--date", help="Session (and expiry) date, YYYY-MM-DD.")
    ] = "2026-11-20",
    start: Annotated[str, typer.Option("--start", help="Start time, New York, HH:MM.")] = "09:30",
    anomalies_per_minute: Annotated[
        float,
        typer.Option("--anomalies-per-minute", help="Mean rate of injected anomalies (0 = clean).", min=0),
    ] = 6.0,
    strikes_each_side: Annotated[
        int, typer.Option("--strikes-each-side", help="Listed strikes around the money.", min=2)
    ] = 25,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between snapshots.", min=0.01)] = 0.1,
) -> None:
    """Write labeled chain snapshots: DIR/snapshots.csv and DIR/labels.csv."""
    from spyops.market.generate import generate_files
    from spyops.market.model import MarketConfig

    try:
        session_date = dt.date.fromisoformat(date)
        start_time = dt.time.fromisoformat(start)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    config = MarketConfig(
        start_time=start_time, anomalies_per_minute=anomalies_per_minute, strikes_each_side=strikes_each_side
    )
    try:
        summary = generate_files(
            out,
            seed=seed,
            minutes=minutes,
            session_date=session_date,
            config=config,
            interval_seconds=interval,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:  # --out names a file, or a place we may not write
        typer.echo(f"error: cannot write to {out}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        json.dumps(
            {
                "snapshots_file": str(summary.snapshot_path),
                "labels_file": str(summary.label_path),
                "snapshots": summary.snapshots,
                "contracts_per_snapshot": summary.contracts,
                "label_rows": summary.label_rows,
                "anomalies": summary.anomalies,
                "tradable_anomalies": summary.tradable_anomalies,
            }
        )
    )
