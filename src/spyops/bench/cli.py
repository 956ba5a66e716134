"""``spyops bench``: the project's benchmarks; each prints one JSON document."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks (JSON output, each number beside its baseline).", no_args_is_help=True)


@app.command("tick-to-order")
def tick_to_order(
    samples: Annotated[int, typer.Option(help="Quote changes to measure.", min=10)] = 200,
    seed: Annotated[int, typer.Option(help="Market model seed.")] = 7,
) -> None:
    """Quote change at the gateway simulator -> signal -> bot -> order at the simulator, p50/p99."""
    import asyncio
    import json

    from spyops.bench.tick_to_order import run

    result = asyncio.run(run(samples=samples, seed=seed))
    typer.echo(json.dumps(result, indent=2))
