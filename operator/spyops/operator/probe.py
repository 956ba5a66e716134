"""`spyops gateway-probe`: one real TWS API handshake (ib_async), for the gateway's readiness probe.

Exit 0 and print the server version when the gateway completes the handshake; exit 1 with the
reason otherwise. A TCP connect alone proves nothing: IB Gateway accepts connections long before
it is logged in and serving the API.

With ``--gateway NAME`` it also writes ``serverVersion`` and ``lastRestart`` to that IBKRGateway's
status (``spyops.operator.probe_status``), as the gateway pod's own ServiceAccount, which may patch
only that status. A failed status write is reported but does not fail the probe: readiness is
about the gateway, not the API server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from spyops.operator import probe_status


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
    gateway: Annotated[
        str | None,
        typer.Option("--gateway", help="IBKRGateway whose status gets serverVersion and lastRestart."),
    ] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="Namespace of --gateway.")] = "default",
    state_file: Annotated[
        Path,
        typer.Option("--state-file", help="Where the probe remembers its last result between runs."),
    ] = Path("/tmp/spyops-gateway-probe.json"),  # noqa: S108 - the pod's own scratch emptyDir
    restart_gap: Annotated[
        float,
        typer.Option(
            "--restart-gap", min=1.0, help="Seconds without a successful probe that count as a restart."
        ),
    ] = 75.0,
    kubeconfig: Annotated[
        Path | None,
        typer.Option("--kubeconfig", help="Kubeconfig for the status write (default: the pod's account)."),
    ] = None,
) -> None:
    """Check a gateway with a real TWS API handshake; exit non-zero when it fails."""
    now = dt.datetime.now(dt.UTC)
    report: dict[str, Any] = {"endpoint": f"{host}:{port}"}
    try:
        version = asyncio.run(asyncio.wait_for(handshake(host, port, client_id, timeout), timeout + 1))
    except (OSError, ConnectionError, TimeoutError) as exc:
        if gateway is not None:
            memory = probe_status.load(state_file)
            _remember(state_file, probe_status.after_failure(memory, now), report)
        typer.echo(json.dumps({"ok": False, **report, "error": f"{type(exc).__name__}: {exc}"}))
        raise typer.Exit(1) from None
    report["serverVersion"] = version
    if gateway is not None:
        memory, patch = probe_status.after_success(
            probe_status.load(state_file), now, version, dt.timedelta(seconds=restart_gap)
        )
        if patch is not None:
            try:
                asyncio.run(probe_status.patch_status(namespace, gateway, patch, kubeconfig))
            except Exception as exc:  # readiness is about the gateway; the write is retried next run
                report["statusError"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            else:
                memory = probe_status.after_report(memory)
                report["status"] = patch["status"]
        _remember(state_file, memory, report)
    typer.echo(json.dumps({"ok": True, **report}))


def _remember(path: Path, memory: probe_status.ProbeMemory, report: dict[str, Any]) -> None:
    """Keep what this run saw; a scratch file that cannot be written is reported, not fatal."""
    try:
        probe_status.save(path, memory)
    except OSError as exc:
        report["stateError"] = f"cannot write {path}: {exc.strerror or exc}"
