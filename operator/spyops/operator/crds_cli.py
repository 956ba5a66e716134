"""`spyops crds generate|check`: write the CRD manifests from the models, or fail on drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="The spyops.io CustomResourceDefinitions, generated from the API models.", no_args_is_help=True
)

_DEFAULT_DIR = Path("crds")
_CHART_DIR = Path("charts/spyops/files/crds")


@app.command()
def generate(
    directory: Annotated[Path, typer.Option("--dir", help="Where to write the CRDs.")] = _DEFAULT_DIR,
    chart_dir: Annotated[Path, typer.Option("--chart-dir", help="The Helm chart's copy.")] = _CHART_DIR,
) -> None:
    """Write crds/*.yaml from spyops.operator.api."""
    from spyops.operator.api.crd import generate as write_crds

    try:
        written = write_crds(directory, chart_dir)
    except OSError as exc:  # a directory that is a file, or not writable
        typer.echo(
            f"error: cannot write the CRDs to {exc.filename or directory}: {exc.strerror or exc}", err=True
        )
        raise typer.Exit(2) from exc
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def check(
    directory: Annotated[Path, typer.Option("--dir", help="Where the CRDs are checked in.")] = _DEFAULT_DIR,
    chart_dir: Annotated[Path, typer.Option("--chart-dir", help="The Helm chart's copy.")] = _CHART_DIR,
) -> None:
    """Exit 1 if crds/*.yaml differ from what the models generate."""
    from spyops.operator.api.crd import drifted

    stale = drifted(directory, chart_dir)
    if stale:
        typer.echo(
            "CRDs drifted from spyops.operator.api; run `spyops crds generate`: " + ", ".join(stale), err=True
        )
        raise typer.Exit(1)
    typer.echo("CRDs are up to date")
