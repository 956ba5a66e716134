"""`spyops monitoring ...`: build Prometheus/Alertmanager, generate or check the dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Prometheus, Alertmanager, alert rules and Grafana dashboards.", no_args_is_help=True)


@app.command()
def build() -> None:
    """Build (once, then cached) prometheus, promtool, alertmanager and amtool from their Go modules."""
    from spyops.toolchain.gobuild import GoBuildError
    from spyops.toolchain.monitoring import ensure_monitoring_tools

    try:
        for name, path in ensure_monitoring_tools(progress=typer.echo).items():
            typer.echo(f"{name}: {path}")
    except GoBuildError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def dashboards(
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the checked-in files drifted.")] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Default: the chart's files/dashboards.")
    ] = None,
) -> None:
    """Write the Grafana dashboards (JSON) from spyops.monitoring.dashboards, or check them."""
    from spyops.monitoring.files import DASHBOARDS_DIR, drifted_dashboards, write_dashboards

    target = directory or DASHBOARDS_DIR
    if check:
        stale = drifted_dashboards(target)
        if stale:
            typer.echo(
                f"dashboards drifted; run `spyops monitoring dashboards`: {', '.join(stale)}", err=True
            )
            raise typer.Exit(1)
        typer.echo("dashboards are up to date")
        return
    for path in write_dashboards(target):
        typer.echo(f"wrote {path}")
