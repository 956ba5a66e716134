"""The `spyops` command: one entry point, one subcommand (or group) per component.

Each component owns its command-line module; this file only mounts them, so a
component is added by adding one line to ``_COMPONENTS``. Component modules keep
their heavy imports inside the commands, so `spyops --help` stays fast.
"""

from __future__ import annotations

import importlib

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
    ("bench", "spyops.bench.cli:app"),
    ("azure-sim", "spyops.azuresim.cli:azure_sim"),
    ("detect", "spyops.detector.cli:detect"),
    ("operator", "spyops.operator.main:run_operator"),
    ("crds", "spyops.operator.crds_cli:app"),
    ("gateway-probe", "spyops.operator.probe:gateway_probe"),
    ("infra", "spyops.infra.cli:app"),
    ("bot", "spyops.bot.cli:bot"),
    ("demo", "spyops.demo.cli:demo"),
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


def main() -> None:
    app()
