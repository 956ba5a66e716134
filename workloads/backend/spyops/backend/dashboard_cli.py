"""`spyops dashboard build`: the dashboard as a static site for Azure Static Web Apps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="The dashboard as a static site (Azure Static Web Apps).", no_args_is_help=True)


@app.command()
def build(
    backend_url: Annotated[
        str,
        typer.Option(
            envvar="SPYOPS_BACKEND_URL",
            help="The backend's base URL (Terraform output backend_url), e.g. https://app-spyops-dev.azurewebsites.net.",
        ),
    ],
    out: Annotated[Path, typer.Option(help="Folder to write the site to (emptied first).")] = Path(
        "build/dashboard"
    ),
) -> None:
    """Write the dashboard with config.js naming the backend and staticwebapp.config.json (CSP, HSTS)."""
    from spyops.backend.dashboard_build import DashboardBuildError, build_dashboard

    try:
        written = build_dashboard(out, backend_url)
    except DashboardBuildError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(f"wrote {len(written)} files to {out} (backend {backend_url})")
