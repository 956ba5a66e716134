"""`spyops bench ...`: one command per component benchmark, each printing JSON.

Components add a command here; the command imports its benchmark lazily so `spyops --help`
stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(name="bench", help="Benchmarks (JSON on stdout).", no_args_is_help=True)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise typer.BadParameter(f"expected comma-separated integers, got {text!r}") from exc
    if not values:
        raise typer.BadParameter("expected at least one value")
    return values


@app.command()
def detector(
    seeds: Annotated[str, typer.Option("--seeds", help="Held-out seeds to measure on (never tuned on).")] = (
        "1001,1002,1003,1004"
    ),
    tuning_seeds: Annotated[
        str, typer.Option("--tuning-seeds", help="Seeds the seed rule's threshold is tuned on.")
    ] = "1,2,3",
    minutes: Annotated[float, typer.Option("--minutes", help="Simulated minutes per seed.", min=0.1)] = 10.0,
    anomalies_per_minute: Annotated[float, typer.Option("--anomalies-per-minute", min=0.1)] = 6.0,
    near_threshold_fraction: Annotated[
        float,
        typer.Option(
            "--near-threshold-fraction",
            min=0.0,
            max=1.0,
            help="Share of anomalies sized to start near the minimum edge (0.8 to 1.5 times it).",
        ),
    ] = 0.3,
    latency_snapshots: Annotated[
        int, typer.Option("--latency-snapshots", help="Scans timed per size.", min=10)
    ] = 1000,
    sizes: Annotated[
        str, typer.Option("--sizes", help="Chain sizes (contracts) for latency.")
    ] = "200,1000,5000",
) -> None:
    """Detector precision/recall/F1 against the seed rule, and scan latency by chain size."""
    from spyops.detector.bench import DetectorBenchConfig, run_detector_benchmark

    config = DetectorBenchConfig(
        seeds=tuple(_int_list(seeds)),
        tuning_seeds=tuple(_int_list(tuning_seeds)),
        minutes=minutes,
        anomalies_per_minute=anomalies_per_minute,
        near_threshold_fraction=near_threshold_fraction,
        latency_snapshots=latency_snapshots,
        sizes=tuple(_int_list(sizes)),
    )
    if set(config.seeds) & set(config.tuning_seeds):
        raise typer.BadParameter("held-out seeds and tuning seeds must not overlap")
    typer.echo(json.dumps(run_detector_benchmark(config), indent=2))


@app.command("backend")
def backend(
    clients: Annotated[int, typer.Option(min=1, help="WebSocket clients to fan one signal out to.")] = 1000,
    rounds: Annotated[int, typer.Option(min=1, help="Signals to time, one after another.")] = 5,
    ingest_signals: Annotated[int, typer.Option(min=10, help="Signals to ingest into each store.")] = 2000,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Signals per POST when ingesting.")] = 100,
) -> None:
    """Backend: fan-out delivery p50/p99 to N WebSocket clients, and ingest rate into SQLite and Azurite."""
    import asyncio

    from spyops.backend.bench import run_backend_benchmark

    result = asyncio.run(
        run_backend_benchmark(
            clients=clients, rounds=rounds, ingest_signals=ingest_signals, batch_size=batch_size
        )
    )
    typer.echo(json.dumps(result, indent=2))


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


@app.command("operator")
def operator_benchmark(
    latency_samples: Annotated[
        int, typer.Option("--latency-samples", min=5, help="Strategies applied one by one.")
    ] = 50,
    bulk: Annotated[
        int, typer.Option("--bulk", min=1, help="Strategies applied at once to time Ready, and the floor.")
    ] = 500,
    ready_timeout: Annotated[
        float, typer.Option("--ready-timeout", min=1.0, help="Seconds to wait for all Ready, per phase.")
    ] = 600.0,
    failover_bulk: Annotated[
        int,
        typer.Option(
            "--failover-bulk", min=2, help="Strategies applied while the leader replica is SIGKILLed."
        ),
    ] = 500,
    lease_duration: Annotated[
        float, typer.Option("--lease-duration", min=11.0, help="Lease duration of the two replicas.")
    ] = 15.0,
    profile: Annotated[
        Path | None,
        typer.Option(
            "--profile",
            dir_okay=False,
            help="Write py-spy's collapsed stacks of the operator during the bulk phase here (and "
            "summarize them in the JSON).",
        ),
    ] = None,
) -> None:
    """Apply -> children latency, N strategies to Ready next to the floor (the same children applied
    without the operator), a restart's writes (audit log), failover under load, memory (embedded cluster)."""
    import time

    from spyops.operator.bench import BenchConfig, main

    if profile is not None and not profile.parent.is_dir():
        raise typer.BadParameter(f"{profile.parent} is not a directory", param_hint="--profile")
    if profile is not None:
        from spyops.operator.bench_process import BenchError, py_spy

        try:
            py_spy()
        except BenchError as exc:
            raise typer.BadParameter(str(exc), param_hint="--profile") from exc
    main(
        BenchConfig(
            namespace=f"bench-{int(time.time())}",
            latency_samples=latency_samples,
            bulk=bulk,
            ready_timeout=ready_timeout,
            failover_bulk=failover_bulk,
            lease_duration=lease_duration,
            profile=profile,
        )
    )


@app.command("tick-to-order")
def tick_to_order(
    samples: Annotated[
        int, typer.Option(help="Injected anomalies to measure (per tracing mode).", min=10)
    ] = 60,
    seed: Annotated[int, typer.Option(help="Market model seed.")] = 7,
    tracing: Annotated[
        str,
        typer.Option(
            "--tracing",
            help="Tracing modes to measure in turn, the first being the baseline: off, sampled, full.",
        ),
    ] = "off,sampled,full",
    sampling_ratio: Annotated[
        float,
        typer.Option("--sampling-ratio", min=0.0, max=1.0, help="OTEL_TRACES_SAMPLER_ARG of `sampled`."),
    ] = 0.1,
) -> None:
    """Quote change at the gateway simulator -> signal -> bot -> order at the simulator, p50/p99, with
    tracing off, sampled and at 100 % in the same run."""
    import asyncio
    import json

    from spyops.bench.tick_to_order import TRACING_MODES_DEFAULT, run

    modes = tuple(part.strip() for part in tracing.split(",") if part.strip())
    unknown = [mode for mode in modes if mode not in TRACING_MODES_DEFAULT]
    if not modes or unknown or len(set(modes)) != len(modes):
        raise typer.BadParameter(
            f"expected distinct modes among {', '.join(TRACING_MODES_DEFAULT)}, got {tracing!r}",
            param_hint="--tracing",
        )
    result = asyncio.run(run(samples=samples, seed=seed, modes=modes, sampling_ratio=sampling_ratio))
    typer.echo(json.dumps(result, indent=2))


@app.command("realnode")
def realnode(
    cold_build: Annotated[
        bool, typer.Option("--cold-build/--no-cold-build", help="Also time an image build without cache.")
    ] = True,
) -> None:
    """The real node: image builds and sizes, node up, pod start per component, examples to first order."""
    from spyops.cluster.node.bench import run_realnode_benchmark

    typer.echo(
        json.dumps(
            run_realnode_benchmark(cold_build=cold_build, say=lambda m: typer.echo(m, err=True)), indent=2
        )
    )


@app.command("podlife")
def podlife(
    rounds: Annotated[int, typer.Option(min=1, max=200, help="Rounds of each chaos step.")] = 10,
) -> None:
    """Real node: leader takeover after SIGKILL and pod deletion, rolling-update gap, outbox across pod
    deletion, duplicates and losses (needs root and `make node-runtime node-binaries images`)."""
    from spyops.cluster.node.podlife_bench import run_podlife_benchmark

    typer.echo(json.dumps(run_podlife_benchmark(rounds, say=lambda m: typer.echo(m, err=True)), indent=2))
