"""`spyops backend`: run the API, live stream and dashboard under uvicorn."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SIGNALR_ENV = "SPYOPS_SIGNALR_CONNECTION_STRING"


def main(
    host: Annotated[
        str, typer.Option(envvar="SPYOPS_HOST", help="Address to listen on (0.0.0.0 in a container).")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            envvar=["SPYOPS_PORT", "WEBSITES_PORT"],
            help="Port; 0 picks a free one (logged). On App Service, WEBSITES_PORT (the port it routes to).",
        ),
    ] = 8080,
    store: Annotated[
        str,
        typer.Option(
            envvar="SPYOPS_STORE",
            help="sqlite:PATH, table:ENV_VAR_NAME (the variable holds the connection string), or "
            "table:https://ACCOUNT.table.core.windows.net (signs in with azure-identity: a managed identity).",
        ),
    ] = "sqlite:spyops-backend.sqlite3",
    token_file: Annotated[
        Path | None,
        typer.Option(
            envvar="SPYOPS_BACKEND_TOKEN_FILE",
            help="File holding the write token (a mounted Secret). Default: $SPYOPS_BACKEND_TOKEN.",
        ),
    ] = None,
    table_prefix: Annotated[
        str, typer.Option(envvar="SPYOPS_TABLE_PREFIX", help="Prefix of the Table Storage table names.")
    ] = "spyops",
    cors_origins: Annotated[
        str,
        typer.Option(
            envvar="SPYOPS_CORS_ORIGINS",
            help="Origins (comma-separated) of a dashboard served elsewhere, e.g. the Static Web App: "
            "they may read the API and open the live stream. Default: none (same origin only).",
        ),
    ] = "",
    signalr_hub: Annotated[
        str, typer.Option(help="Azure SignalR hub to publish to (if configured).")
    ] = "spyops",
    ws_queue_size: Annotated[
        int, typer.Option(min=1, help="Messages a live-stream client may lag before it is dropped.")
    ] = 256,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Run the backend: ingest (authenticated), history, live stream, dashboard, /health /ready /metrics.

    Azure SignalR publishing is on when $SPYOPS_SIGNALR_CONNECTION_STRING is set. Every option
    can also come from the environment variable its help names (App Service app settings).
    """
    import asyncio
    import logging
    import os
    import socket

    import uvicorn

    from spyops.backend.app import create_app
    from spyops.backend.auth import TokenConfigError, load_token
    from spyops.backend.logs import configure_logging
    from spyops.backend.origins import OriginConfigError, parse_origins
    from spyops.backend.signalr import SignalRConfigError, parse_connection_string
    from spyops.backend.store.factory import StoreSpecError, store_from_spec
    from spyops.common.tracing import TracingConfigError, configure_tracing, shutdown_tracing

    configure_logging(log_level)
    try:
        configure_tracing("backend")
    except TracingConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    log = logging.getLogger("spyops.backend")
    try:
        token = load_token(token_file)
        origins = parse_origins(cors_origins)
        history = store_from_spec(store, table_prefix=table_prefix)
        signalr_text = os.environ.get(SIGNALR_ENV, "").strip()
        signalr = parse_connection_string(signalr_text) if signalr_text else None
    except (TokenConfigError, StoreSpecError, SignalRConfigError, OriginConfigError) as exc:
        log.error("cannot start: %s", exc)
        raise typer.Exit(code=2) from exc
    app = create_app(
        history,
        token,
        signalr=signalr,
        signalr_hub=signalr_hub,
        ws_queue_size=ws_queue_size,
        cors_origins=origins,
    )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # connections made before uvicorn starts wait in the backlog
    except OSError as exc:
        log.error("cannot listen on %s:%d: %s", host, port, exc.strerror)
        raise typer.Exit(code=2) from exc
    actual_port = sock.getsockname()[1]
    log.info(
        "listening",
        extra={
            "event": "listening",
            "host": host,
            "port": actual_port,
            "store": history.description,
            "signalr": signalr.endpoint if signalr else None,
            "cors_origins": list(origins),
        },
    )
    # No per-message deflate on the live stream: each connection would compress the same message
    # again, which costs more than it saves for messages of a few kilobytes.
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        ws_max_size=1024 * 1024,
        ws_per_message_deflate=False,
        lifespan="on",
    )
    try:
        asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
    finally:
        shutdown_tracing()  # export the last spans
