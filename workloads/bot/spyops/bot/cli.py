"""``spyops bot``: run one trading-bot replica."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def bot(
    config: Annotated[
        Path, typer.Option(help="Runtime config file (the mounted ConfigMap's config.json).", dir_okay=False)
    ],
    journal: Annotated[
        Path, typer.Option(help="SQLite order journal on the pod's volume.", dir_okay=False)
    ] = Path("/var/lib/spyops/journal.sqlite"),
    probe_host: Annotated[str, typer.Option(help="Address for /health, /ready, /metrics.")] = "0.0.0.0",
    probe_port: Annotated[
        int, typer.Option(help="Port for /health, /ready, /metrics (0 = any free port).")
    ] = 8080,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(help="Kubeconfig for the Lease and status; default: in-cluster, then KUBECONFIG."),
    ] = None,
    standalone: Annotated[
        bool,
        typer.Option(
            help="No Kubernetes: this process is the only replica and always trades (demo, benchmark)."
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run a trading-bot replica: signals in, risk-checked paper orders out, only while leader."""
    import asyncio
    import logging
    import signal

    from spyops.bot.service import CRASH_ENV, BotOptions, BotService, CrashHook
    from spyops.common.jsonlog import configure_json_logging
    from spyops.common.tracing import TracingConfigError, configure_tracing, shutdown_tracing
    from spyops.schemas import RuntimeConfigError, load_runtime_config

    configure_json_logging("bot", log_level)
    try:
        configure_tracing("bot")
    except TracingConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if log_level.lower() != "debug":
        # ib_async logs every order event with a full repr at INFO; ours say what matters.
        logging.getLogger("ib_async").setLevel(logging.WARNING)
        # One line per Lease renewal and status patch is noise; failures are logged by us.
        logging.getLogger("httpx2").setLevel(logging.WARNING)
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        runtime = load_runtime_config(config)
    except RuntimeConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--config") from exc
    try:
        CrashHook(os.environ.get(CRASH_ENV, ""))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    pod_name = os.environ.get("POD_NAME") or os.uname().nodename
    namespace = os.environ.get("POD_NAMESPACE") or runtime.strategy.split("/", 1)[0]
    ordinal_env = os.environ.get("SPYOPS_BOT_ORDINAL")
    try:
        ordinal = int(ordinal_env) if ordinal_env else None
    except ValueError as exc:
        raise typer.BadParameter(f"SPYOPS_BOT_ORDINAL must be an integer, got {ordinal_env!r}") from exc
    options = BotOptions(
        config_path=config,
        journal_path=journal,
        pod_name=pod_name,
        namespace=namespace,
        probe_host=probe_host,
        probe_port=probe_port,
        kubeconfig=kubeconfig,
        standalone=standalone,
        client_ordinal=ordinal,
    )

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        service = BotService(options, runtime)
        await service.run(stop)

    try:
        asyncio.run(run())
    finally:
        shutdown_tracing()  # export the last spans
