"""`spyops azure-sim`: run the local Azure endpoint until interrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def azure_sim(
    state_dir: Annotated[
        Path, typer.Option(help="Where the CA, server cert, endpoints.json and credentials.json are written.")
    ] = Path(".azure-sim"),
    host: Annotated[
        str, typer.Option(help="Address both listeners bind to (loopback by default).")
    ] = "127.0.0.1",
    arm_port: Annotated[
        int, typer.Option(help="HTTPS port for ARM and the token flow (0 = any free port).")
    ] = 0,
    control_port: Annotated[
        int, typer.Option(help="HTTP port for the control API and the managed-identity endpoint (0 = any).")
    ] = 0,
    scenario: Annotated[
        Path | None, typer.Option(help="YAML/JSON timeline of control steps to play from the start.")
    ] = None,
    subscription_id: Annotated[str, typer.Option()] = "00000000-0000-0000-0000-000000000001",
    resource_group: Annotated[str, typer.Option()] = "spyops-rg",
    gateway_name: Annotated[str, typer.Option()] = "spyops-vpngw",
    connection_name: Annotated[str, typer.Option()] = "spyops-s2s",
    tls_name: Annotated[
        list[str] | None,
        typer.Option(help="Extra DNS name for the server certificate (repeatable), e.g. a Service name."),
    ] = None,
    log_level: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Serve the ARM paths of a VPN gateway and connection over HTTPS, with a control API to script them."""
    import asyncio
    import signal

    from spyops.azuresim.scenario import ScenarioError, load_scenario
    from spyops.azuresim.server import AzureSim
    from spyops.azuresim.state import SimConfig
    from spyops.common.jsonlog import configure_json_logging

    configure_json_logging("azure-sim", log_level)
    try:
        timeline = load_scenario(scenario) if scenario is not None else None
    except ScenarioError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc

    config = SimConfig(
        subscription_id=subscription_id,
        resource_group=resource_group,
        gateway_name=gateway_name,
        connection_name=connection_name,
    )

    async def run() -> None:
        sim = AzureSim(
            config,
            state_dir,
            host=host,
            arm_port=arm_port,
            control_port=control_port,
            tls_names=tuple(tls_name or ()),
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await sim.start()
        if timeline is not None:
            sim.sim.start_scenario(timeline)
        try:
            await stop.wait()
        finally:
            await sim.stop()

    asyncio.run(run())
