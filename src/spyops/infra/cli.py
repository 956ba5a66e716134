"""`spyops infra`: build the tools, and plan / apply / output one environment with the cached tofu."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer

app = typer.Typer(
    help="The Azure side: OpenTofu and the azurerm provider built from Go modules, per-environment runs.",
    no_args_is_help=True,
)

EnvOption = Annotated[str, typer.Option("--env", "-e", help="Environment: dev or prod.")]
MirrorOption = Annotated[
    bool,
    typer.Option(
        "--local-mirror/--registry",
        help="Take providers from the locally built mirror (offline) instead of the registry's signed releases.",
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@app.command("build-tools")
def build_tools(
    checkov: Annotated[bool, typer.Option(help="Also install checkov into its own virtualenv.")] = True,
) -> None:
    """Build OpenTofu and the azurerm provider (once, cached) and install checkov."""
    from spyops.infra.toolchain import GoBuildError, InfraToolError, ensure_checkov, ensure_tools

    try:
        tools = ensure_tools(progress=typer.echo)
        typer.echo(f"tofu: {tools.tofu}")
        typer.echo(f"provider mirror: {tools.mirror}")
        typer.echo(f"TF_CLI_CONFIG_FILE={tools.cli_config}")
        if checkov:
            typer.echo(f"checkov: {ensure_checkov(progress=typer.echo)}")
    except (GoBuildError, InfraToolError) as error:
        _fail(str(error))


def _run(
    environment: str,
    *steps: str,
    local_mirror: bool,
    output_name: str | None = None,
    var_files: Sequence[str] = (),
) -> None:
    from spyops.infra import runner
    from spyops.infra.toolchain import InfraToolError, find_tools

    try:
        target = runner.environment(runner.terraform_root(), environment)  # user input first
        runner.check_var_files(target, var_files)
        tools = find_tools(require_mirror=local_mirror)
        for step in steps:
            if step == "init":
                argv = runner.init_argv(tools.tofu, target)
            elif step == "plan":
                argv = runner.plan_argv(tools.tofu, target, var_files)
            elif step == "apply":
                argv = runner.apply_argv(tools.tofu, target)
            else:
                argv = runner.output_argv(tools.tofu, target, output_name)
            status = runner.run(tools, target, argv, local_mirror=local_mirror)
            if status != 0:
                typer.echo(f"error: `tofu {step}` for {environment} exited with {status}", err=True)
                raise typer.Exit(status)
    except InfraToolError as error:
        _fail(str(error))


@app.command()
def plan(
    environment: EnvOption,
    local_mirror: MirrorOption = False,
    var_file: Annotated[
        list[str] | None,
        typer.Option(
            help="Extra .tfvars in envs/<env>/ on top of terraform.tfvars, e.g. budget.tfvars (dev)."
        ),
    ] = None,
) -> None:
    """Initialise the environment's state backend for terraform/stack and save a plan (envs/<env>/tfplan)."""
    _run(environment, "init", "plan", local_mirror=local_mirror, var_files=var_file or [])


@app.command()
def apply(environment: EnvOption, local_mirror: MirrorOption = False) -> None:
    """Apply the plan saved by `spyops infra plan`, exactly as reviewed."""
    _run(environment, "apply", local_mirror=local_mirror)


@app.command()
def output(
    environment: EnvOption,
    name: Annotated[str | None, typer.Argument(help="One output, e.g. vpn_link or backend_url.")] = None,
    local_mirror: MirrorOption = False,
) -> None:
    """Print the environment's outputs as JSON (the VpnLink fields, the backend URL, Key Vault secret names)."""
    _run(environment, "output", local_mirror=local_mirror, output_name=name)
