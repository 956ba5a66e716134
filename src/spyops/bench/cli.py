"""`spyops bench ...`: one command per component benchmark, each printing JSON.

Components add a command here; the command imports its benchmark lazily so `spyops --help`
stays fast.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

app = typer.Typer(name="bench", help="Benchmarks (JSON on stdout).", no_args_is_help=True)


@app.command("gateway-sim")
def gateway_sim(
    clients: Annotated[int, typer.Option("--clients", help="Streaming clients.", min=1)] = 5,
    tickers: Annotated[
        int, typer.Option("--tickers", help="Option tickers per client (plus SPY).", min=1, max=102)
    ] = 100,
    seconds: Annotated[float, typer.Option("--seconds", help="Measurement time per speed.", min=1.0)] = 10.0,
    speeds: Annotated[
        str, typer.Option("--speeds", help="Comma-separated session speeds to stream at.")
    ] = "1,10,30",
    orders: Annotated[int, typer.Option("--orders", help="Orders timed for the round trip.", min=10)] = 200,
) -> None:
    """Gateway simulator: quote fan-out to N clients, and placeOrder-to-fill round trip (p50/p99)."""
    from spyops.gatewaysim.bench import GatewayBenchConfig, run_gateway_benchmark

    try:
        speed_values = tuple(float(part) for part in speeds.split(",") if part.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"expected comma-separated numbers, got {speeds!r}") from exc
    if not speed_values or any(value <= 0 for value in speed_values):
        raise typer.BadParameter("speeds must be positive numbers", param_hint="--speeds")
    config = GatewayBenchConfig(
        clients=clients, tickers_per_client=tickers, seconds=seconds, speeds=speed_values, orders=orders
    )
    typer.echo(json.dumps(run_gateway_benchmark(config), indent=2))
