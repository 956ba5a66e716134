"""`spyops gateway-probe`: one real TWS API handshake (ib_async), for the gateway's readiness probe.

Exit 0 and print the server version when the gateway completes the handshake; exit 1 with the
reason otherwise. A TCP connect alone proves nothing: IB Gateway accepts connections long before
it is logged in and serving the API.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer


async def handshake(host: str, port: int, client_id: int, connect_timeout: float) -> int:
    """The server version the gateway reports after a completed API handshake."""
    from ib_async import IB

    ib = IB()
    try:
        await ib.connectAsync(host, port, clientId=client_id, timeout=connect_timeout, readonly=True)
        version = int(ib.client.serverVersion())
        if version <= 0:
            raise ConnectionError("handshake finished without a server version")
        return version
    finally:
        ib.disconnect()


def gateway_probe(
    host: Annotated[str, typer.Option("--host", help="Gateway host.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TWS API port.")] = 4002,
    client_id: Annotated[
        int, typer.Option("--client-id", min=0, help="Client id used for the probe.")
    ] = 9999,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds for the whole handshake.")
    ] = 8.0,
) -> None:
    """Check a gateway with a real TWS API handshake; exit non-zero when it fails."""
    try:
        version = asyncio.run(asyncio.wait_for(handshake(host, port, client_id, timeout), timeout + 1))
    except (OSError, ConnectionError, TimeoutError) as exc:
        typer.echo(
            json.dumps({"ok": False, "endpoint": f"{host}:{port}", "error": f"{type(exc).__name__}: {exc}"})
        )
        raise typer.Exit(1) from None
    typer.echo(json.dumps({"ok": True, "endpoint": f"{host}:{port}", "serverVersion": version}))
