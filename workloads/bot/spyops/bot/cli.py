"""``spyops bot``: run one trading-bot replica."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

ADOPT_INTERVAL_SECONDS = 5.0


def bot(
    config: Annotated[
        Path, typer.Option(help="Runtime config file (the mounted ConfigMap's config.json).", dir_okay=False)
    ],
    journal: Annotated[
        Path, typer.Option(help="SQLite order journal on the pod's volume.", dir_okay=False)
    ] = Path("/var/lib/spyops/journal.sqlite"),
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="The strategy's state volume: take a free slot there for the journal and the outbox "
            "(a replacement pod adopts a deleted one's); overrides --journal.",
            file_okay=False,
        ),
    ] = None,
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
    from spyops.bot.slots import SlotError, acquire_slot, adopt_orphans
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
    slot = None
    if state_dir is not None:
        try:
            slot = acquire_slot(state_dir)
        except SlotError as exc:
            raise typer.BadParameter(str(exc), param_hint="--state-dir") from exc
        journal = slot.journal
        # The slot is this replica's identity among the live ones: a stable, unique TWS client id.
        ordinal = slot.index if ordinal is None else ordinal
        logging.getLogger("spyops.bot").info(
            "state slot taken", extra={"slot": slot.index, "path": str(slot.path)}
        )
    options = BotOptions(
        config_path=config,
        journal_path=journal,
        outbox_path=slot.outbox if slot is not None else None,
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
        if slot is None or state_dir is None:
            await service.run(stop)
            return

        async def adopt() -> None:
            # Slots whose replica is gone for good (scaled down, replaced by a pod that took another slot).
            while not stop.is_set():
                if await asyncio.to_thread(adopt_orphans, state_dir, slot, service.outbox.store):
                    service.outbox.wake()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), ADOPT_INTERVAL_SECONDS)

        adopter = asyncio.create_task(adopt(), name="adopt-orphan-slots")
        try:
            await service.run(stop)
        finally:
            adopter.cancel()
            slot.release()

    try:
        asyncio.run(run())
    finally:
        shutdown_tracing()  # export the last spans
