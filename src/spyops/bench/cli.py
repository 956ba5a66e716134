"""`spyops bench ...`: one command per benchmark; each component's benchmark code stays in its package."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(name="bench", help="Benchmarks; each prints JSON.", no_args_is_help=True)


@app.command("backend")
def backend(
    clients: Annotated[int, typer.Option(min=1, help="WebSocket clients to fan one signal out to.")] = 1000,
    rounds: Annotated[int, typer.Option(min=1, help="Signals to time, one after another.")] = 5,
    ingest_signals: Annotated[int, typer.Option(min=10, help="Signals to ingest into each store.")] = 2000,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Signals per POST when ingesting.")] = 100,
) -> None:
    """Backend: fan-out delivery p50/p99 to N WebSocket clients, and ingest rate into SQLite and Azurite."""
    import asyncio
    import json

    from spyops.backend.bench import run_backend_benchmark

    result = asyncio.run(
        run_backend_benchmark(
            clients=clients, rounds=rounds, ingest_signals=ingest_signals, batch_size=batch_size
        )
    )
    typer.echo(json.dumps(result, indent=2))


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
