"""The `spyops` command: one entry point, one subcommand (or group) per component.

Each component owns its command-line module; this file only mounts them, so a
component is added by adding one line to ``_COMPONENTS``. Component modules keep
their heavy imports inside the commands, so `spyops --help` stays fast.
"""

from __future__ import annotations

import importlib
import sys

import typer

# (subcommand name, "module:attribute"): the attribute is either a typer.Typer
# application (a command group, e.g. `spyops cluster up`) or a plain function
# (a single command, e.g. `spyops bot`).
_COMPONENTS: list[tuple[str, str]] = [
    ("cluster", "spyops.cluster.cli:app"),
    ("images", "spyops.images.cli:app"),
    ("gateway-sim", "spyops.gatewaysim.cli:gateway_sim"),
    ("market", "spyops.market.cli:app"),
    ("detector", "spyops.detector.service_cli:detector"),
    ("backend", "spyops.backend.cli:main"),
    ("dashboard", "spyops.backend.dashboard_cli:app"),
    ("bench", "spyops.bench.cli:app"),
    ("azure-sim", "spyops.azuresim.cli:azure_sim"),
    ("detect", "spyops.detector.cli:detect"),
    ("operator", "spyops.operator.main:run_operator"),
    ("crds", "spyops.operator.crds_cli:app"),
    ("gateway-probe", "spyops.operator.probe:gateway_probe"),
    ("infra", "spyops.infra.cli:app"),
    ("bot", "spyops.bot.cli:bot"),
    ("demo", "spyops.demo.cli:demo"),
    ("tunnel", "spyops.tunnel.cli:app"),
    ("monitoring", "spyops.monitoring.cli:app"),
]

app = typer.Typer(
    name="spyops",
    help="SPY 0DTE anomaly detection and paper trading on Kubernetes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _mount_components() -> None:
    for name, target in _COMPONENTS:
        module_name, _, attribute = target.partition(":")
        module = importlib.import_module(module_name)
        component = getattr(module, attribute)
        if isinstance(component, typer.Typer):
            app.add_typer(component, name=name)
        elif callable(component):
            app.command(name=name)(component)
        else:
            raise TypeError(f"{target} is neither a typer.Typer application nor a function")


_mount_components()


@app.command()
def version() -> None:
    """Print the spyops version."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        typer.echo(package_version("spyops"))
    except PackageNotFoundError:
        typer.echo("spyops (not installed as a distribution)")


# typer ships its own copy of click: its exception classes, found from a public one.
_CLICK_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def main() -> None:
    """Run the command line; a usage error is one line on stderr (exit 2), never a traceback."""
    try:
        code = app(standalone_mode=False)
    except _CLICK_ERROR as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help is printed already
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        context = getattr(exc, "ctx", None)
        hint = f" (see '{context.command_path} --help')" if context is not None else ""
        message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
        typer.echo(f"Error: {message}{hint}", err=True)
        sys.exit(exc.exit_code)  # type: ignore[attr-defined]
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
