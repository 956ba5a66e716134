"""`spyops monitoring ...`: build Prometheus/Alertmanager, generate or check the dashboards."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Prometheus, Alertmanager, alert rules and Grafana dashboards.", no_args_is_help=True)


@app.command()
def build() -> None:
    """Build (once, then cached) prometheus, promtool, alertmanager and amtool from their Go modules."""
    from spyops.toolchain.gobuild import GoBuildError
    from spyops.toolchain.monitoring import ensure_monitoring_tools

    try:
        for name, path in ensure_monitoring_tools(progress=typer.echo).items():
            typer.echo(f"{name}: {path}")
    except GoBuildError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@app.command()
def dashboards(
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if the checked-in files drifted.")] = False,
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Default: the chart's files/dashboards.")
    ] = None,
) -> None:
    """Write the Grafana dashboards (JSON) from spyops.monitoring.dashboards, or check them."""
    from spyops.monitoring.files import DASHBOARDS_DIR, drifted_dashboards, write_dashboards

    target = directory or DASHBOARDS_DIR
    if check:
        stale = drifted_dashboards(target)
        if stale:
            typer.echo(
                f"dashboards drifted; run `spyops monitoring dashboards`: {', '.join(stale)}", err=True
            )
            raise typer.Exit(1)
        typer.echo("dashboards are up to date")
        return
    try:
        written = write_dashboards(target)
    except OSError as error:
        typer.echo(f"error: --dir {target}: {error.strerror or error}", err=True)
        raise typer.Exit(1) from None
    for path in written:
        typer.echo(f"wrote {path}")


@app.command()
def receivers(
    smtp_port: Annotated[int, typer.Option(min=1, max=65535, help="SMTP listen port (loopback).")],
    telegram_port: Annotated[int, typer.Option(min=1, max=65535, help="Telegram Bot API stand-in port.")],
    telegram_token_file: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="The bot token Alertmanager must present.")
    ],
    out: Annotated[Path, typer.Option(help="JSON-lines file: one line per notification received.")],
) -> None:
    """Run the local email (SMTP) and Telegram stand-ins that the demo's Alertmanager delivers to."""
    import asyncio
    import signal

    from spyops.monitoring.receivers import Receivers, Recorder, serve_until_stopped

    try:
        token = telegram_token_file.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as error:
        typer.echo(
            f"error: --telegram-token-file {telegram_token_file}: not UTF-8 text (byte {error.start})",
            err=True,
        )
        raise typer.Exit(2) from None
    if not token:
        typer.echo(f"error: --telegram-token-file {telegram_token_file} is empty", err=True)
        raise typer.Exit(2)

    def show(record: dict[str, object]) -> None:
        first = str(record.get("subject") or record.get("text", "")).splitlines()[0:1]
        typer.echo(f"{record['receiver']}: {first[0] if first else ''}")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        service = Receivers(smtp_port, telegram_port, token, Recorder(out, show))
        typer.echo(f"SMTP on 127.0.0.1:{smtp_port}, Telegram Bot API on http://127.0.0.1:{telegram_port}")
        await serve_until_stopped(service, stop)

    try:
        asyncio.run(main())
    except OSError as error:
        typer.echo(f"error: cannot listen: {error}", err=True)
        raise typer.Exit(1) from None
