"""`spyops bench <component>`: benchmarks that print JSON (not tests; no pass/fail on speed)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Benchmarks; each prints one JSON document.", no_args_is_help=True)


@app.command("operator")
def operator_benchmark(
    latency_samples: Annotated[
        int, typer.Option("--latency-samples", min=5, help="Strategies applied one by one.")
    ] = 50,
    bulk: Annotated[
        int, typer.Option("--bulk", min=1, help="Strategies applied at once to time convergence.")
    ] = 500,
    ready_timeout: Annotated[
        float, typer.Option("--ready-timeout", help="Seconds to wait for all Ready.")
    ] = 600.0,
) -> None:
    """Apply -> children latency (p50/p99), N strategies to converge, operator memory (embedded cluster,
    or the cluster KUBECONFIG names with SPYOPS_TEST_USE_EXISTING_CLUSTER=1)."""
    from spyops.operator.bench import main

    main(latency_samples=latency_samples, bulk=bulk, ready_timeout=ready_timeout)
