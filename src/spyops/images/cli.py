"""`spyops images build | list`: the images the chart and the operator name, built with podman."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from spyops.cluster.cli import _fail  # the same one-line error as `spyops cluster`

app = typer.Typer(
    help="Build the container images the chart and the operator reference (podman, no daemon).",
    no_args_is_help=True,
)


@app.command()
def build(
    base: Annotated[
        str | None,
        typer.Option(
            help="Base image (default: the Dockerfile's production base, or a Debian-made stand-in when "
            "it cannot be pulled). Also $SPYOPS_BASE_IMAGE."
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            help="CA bundle pip inside the build trusts, passed as a build secret (default: the one pip "
            "on this host uses, if any).",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Rebuild every layer.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print what was built as JSON.")] = False,
) -> None:
    """Build every image (tags exactly as charts/spyops/values.yaml and the operator's defaults)."""
    from spyops.images.build import build_all
    from spyops.images.podman import ImageError

    try:
        built = build_all(base=base, ca_bundle=ca_bundle, no_cache=no_cache, say=typer.echo)
    except ImageError as exc:
        raise _fail(str(exc)) from exc
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "tags": list(b.tags),
                        "id": b.image_id,
                        "size_bytes": b.size_bytes,
                        "base": b.base,
                        "seconds": b.seconds,
                    }
                    for b in built
                ]
            )
        )


@app.command("list")
def list_images() -> None:
    """Print the image references the chart and the operator use, and whether each is built here."""
    from spyops.images.build import all_tags
    from spyops.images.podman import ImageError, image_exists

    try:
        for tag in all_tags():
            typer.echo(f"{tag}\t{'built' if image_exists(tag) else 'not built'}")
    except ImageError as exc:
        raise _fail(str(exc)) from exc
