"""`spyops detector`: run the detector service (see ``spyops.detector.service``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def detector(
    config: Annotated[
        Path, typer.Option(help="Runtime config file (the mounted ConfigMap's config.json).", dir_okay=False)
    ],
    probe_port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port of /health, /ready, /metrics (0: any free port).")
    ] = 8080,
    stream_port: Annotated[
        int,
        typer.Option(
            min=0, max=65535, help="Port of the signal stream the bots subscribe to (0: any free port)."
        ),
    ] = 8090,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 in a pod).", envvar="SPYOPS_DETECTOR_HOST")
    ] = "0.0.0.0",
    outbox: Annotated[
        Path,
        typer.Option(
            help="SQLite outbox of signals bound for the backend (a writable volume).", dir_okay=False
        ),
    ] = Path("/tmp/spyops-detector/outbox.sqlite3"),  # noqa: S108 - the pod's emptyDir at /tmp
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """Stream SPY 0DTE quotes from the IB gateway, detect anomalies, publish signals to bots and backend."""
    import asyncio
    import logging
    import signal

    from spyops.common.jsonlog import configure_json_logging
    from spyops.common.tracing import TracingConfigError, configure_tracing, shutdown_tracing
    from spyops.detector.config import DetectorConfigError
    from spyops.detector.service import DetectorService, ServiceOptions

    configure_json_logging("detector", log_level)
    try:
        configure_tracing("detector")
    except TracingConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if log_level.upper() != "DEBUG":
        # ib_async logs every request and warning at INFO; the feed logs what matters.
        logging.getLogger("ib_async").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    log = logging.getLogger("spyops.detector")
    options = ServiceOptions(
        config_path=config, outbox_path=outbox, host=host, probe_port=probe_port, stream_port=stream_port
    )

    async def run() -> None:
        try:
            service = DetectorService(options)
        except DetectorConfigError as exc:
            log.error("cannot start: %s", exc)
            raise typer.Exit(code=2) from exc
        try:
            await service.start()
        except OSError as exc:
            log.error("cannot listen: %s", exc)
            await service.stop()
            raise typer.Exit(code=2) from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await service.stop()

    try:
        asyncio.run(run())
    finally:
        shutdown_tracing()  # export the last spans
