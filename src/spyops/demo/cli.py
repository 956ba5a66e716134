"""`spyops demo`: the whole platform on this machine, until Ctrl-C (or --duration)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def _default_state_dir() -> Path:
    base = os.environ.get("SPYOPS_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "spyops"
    )
    return Path(base) / "demo"


def demo(
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="YAML file of timed steps (inject, link-down, link-up, gateway-restart, kill-switch, ...)."
        ),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(min=1, help="Stop by itself after this many seconds (default: until Ctrl-C)."),
    ] = None,
    headless: Annotated[
        bool,
        typer.Option(help="No terminal expected: plain output, for CI and tests (pair it with --duration)."),
    ] = False,
    port_base: Annotated[
        int,
        typer.Option(
            help="First of the 24 consecutive ports the demo listens on; the dashboard is this one."
        ),
    ] = 8000,
    anomalies_per_minute: Annotated[
        float, typer.Option(min=0, help="Anomalies the gateway simulator injects by itself per minute.")
    ] = 4.0,
    state_dir: Annotated[
        Path | None,
        typer.Option(
            help="Cluster state, kubeconfigs, config files and logs (default ~/.local/state/spyops/demo)."
        ),
    ] = None,
    node: Annotated[
        str,
        typer.Option(
            help="real: pods run as containers on the real node (root, `make node-runtime images`); kwok: "
            "local processes stand in for kwok's pods; auto: real where this machine can."
        ),
    ] = "auto",
) -> None:
    """Run the whole platform on one machine: Kubernetes, operator, example resources, backend and dashboard, workloads."""
    import sys

    from spyops.demo.orchestrator import Demo, DemoOptions
    from spyops.demo.ports import DemoPorts, PortInUseError, check_ports_free, validate_port_base
    from spyops.demo.scenario import ScenarioError, load_scenario

    try:
        validate_port_base(port_base)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--port-base") from exc
    try:
        parsed = load_scenario(scenario) if scenario is not None else None
    except ScenarioError as exc:
        # Plain text, not a box: the message carries a path and a line number to copy.
        typer.echo(f"spyops demo: --scenario: {exc}", err=True)
        raise typer.Exit(2) from exc
    from spyops.demo.realnode import NodeMode, choose

    try:
        mode = NodeMode(node)
    except ValueError as exc:
        raise typer.BadParameter(f"expected auto, real or kwok, got {node!r}", param_hint="--node") from exc
    try:
        real, which = choose(mode)
    except RuntimeError as exc:
        typer.echo(f"spyops demo: {exc}", err=True)
        raise typer.Exit(2) from exc
    ports = DemoPorts(port_base)
    try:
        check_ports_free(ports, bot_replicas=10)
    except PortInUseError as exc:
        typer.echo(f"spyops demo: {exc}", err=True)
        raise typer.Exit(2) from exc

    def say(text: str) -> None:
        print(text, flush=True)

    options = DemoOptions(
        state_dir=(state_dir or _default_state_dir()).resolve(),
        ports=ports,
        duration=duration,
        headless=headless or not sys.stdout.isatty(),
        scenario=parsed,
        anomalies_per_minute=anomalies_per_minute,
        real_node=real,
    )
    say(which)
    raise typer.Exit(Demo(options, say).run())
