"""``spyops gateway-sim``: run the paper IB Gateway simulator."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer


def gateway_sim(
    port: Annotated[int, typer.Option(help="TWS API port (4002 is IB Gateway paper).")] = 4002,
    host: Annotated[
        str, typer.Option(help="Address for the TWS API listener.", envvar="SPYOPS_GATEWAY_SIM_HOST")
    ] = "127.0.0.1",
    control_port: Annotated[
        int, typer.Option(help="Port of the HTTP control API (/health, /ready, /metrics, ...).")
    ] = 4080,
    control_host: Annotated[
        str, typer.Option(help="Address for the control API.", envvar="SPYOPS_GATEWAY_SIM_CONTROL_HOST")
    ] = "127.0.0.1",
    seed: Annotated[
        int | None, typer.Option(help="Market model seed (default 7, or the scenario's).")
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Scenario: a built-in name (calm, anomalies, demo-day; what an IBKRGateway's "
            "simulator.scenario names) or a YAML file with settings and timed events."
        ),
    ] = None,
    session_date: Annotated[
        str | None, typer.Option(help="Session date YYYY-MM-DD; the 0DTE expiry (default today).")
    ] = None,
    start_time: Annotated[
        str | None, typer.Option(help="Session time to start at, HH:MM:SS Eastern (default 10:00:00).")
    ] = None,
    speed: Annotated[
        float | None, typer.Option(help="Session seconds per wall-clock second (default 1).")
    ] = None,
    account: Annotated[str, typer.Option(help="Paper account id reported to clients.")] = "DU1234567",
    market_data_lines: Annotated[int, typer.Option(help="Market-data line budget of the account.")] = 100,
    anomalies_per_minute: Annotated[
        float | None,
        typer.Option(
            help="Anomalies the model schedules by itself per minute (0: only injected ones; "
            "default: the scenario's, else 0)."
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run the paper IB Gateway simulator (TWS API wire protocol) driven by the market model."""
    import asyncio
    import signal

    from spyops.common.jsonlog import configure_json_logging
    from spyops.gatewaysim.gateway import GatewayConfig
    from spyops.gatewaysim.model_source import build_model_source
    from spyops.gatewaysim.scenario import Scenario, ScenarioError, load_scenario, resolve_scenario
    from spyops.gatewaysim.server import GatewayServer, ServerSettings

    configure_json_logging("gateway-sim", log_level)
    try:
        loaded = load_scenario(resolve_scenario(scenario)) if scenario is not None else Scenario()
    except ScenarioError as exc:
        # One plain line (no usage box): in a pod it is the last log line the operator shows.
        typer.echo(f"gateway-sim: --scenario: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    settings = loaded.settings
    try:
        date = (
            dt.date.fromisoformat(session_date)
            if session_date
            else (settings.session_date or dt.date.today())
        )
        start = dt.time.fromisoformat(start_time) if start_time else (settings.start or dt.time(10, 0))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    chosen_speed = speed if speed is not None else (settings.speed or 1.0)
    if chosen_speed <= 0:
        raise typer.BadParameter("speed must be positive", param_hint="--speed")
    chosen_seed = seed if seed is not None else (settings.seed if settings.seed is not None else 7)
    rate = (
        anomalies_per_minute if anomalies_per_minute is not None else (settings.anomalies_per_minute or 0.0)
    )
    if rate < 0:
        raise typer.BadParameter("must not be negative", param_hint="--anomalies-per-minute")
    try:
        source = build_model_source(chosen_seed, date, start, anomalies_per_minute=rate)
    except ValueError as exc:  # e.g. a start at or after the 16:00 close
        raise typer.BadParameter(str(exc)) from exc
    server = GatewayServer(
        source,
        settings=ServerSettings(
            host=host, port=port, control_host=control_host, control_port=control_port, speed=chosen_speed
        ),
        config=GatewayConfig(account=account, market_data_lines=market_data_lines),
        scenario=loaded,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        try:
            await stop.wait()
        finally:
            await server.stop()

    try:
        asyncio.run(run())
    except OSError as exc:  # a port in use, an address that is not ours
        typer.echo(f"gateway-sim: cannot listen: {exc}", err=True)
        raise typer.Exit(code=1) from exc
