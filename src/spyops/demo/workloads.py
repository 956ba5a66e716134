"""The workloads the operator renders as pods, and how each one runs as a local process.

This is data: one entry per component. A component joins the demo when its `spyops`
subcommand exists in this installation (so the demo grows as components land), and each
entry says which Deployment it mirrors, which flags point its listeners at local ports
instead of the pod's fixed ones, and how its readiness is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from spyops.demo.ports import DemoPorts


@dataclass(frozen=True)
class ReplicaContext:
    """What one local replica needs to know to stand in for one pod."""

    ordinal: int
    pod_name: str
    namespace: str
    config_file: Path
    work_dir: Path  # the pod's writable volumes (journal, outbox) live here
    kubeconfig: Path | None  # the pod's ServiceAccount token, when the pod mounts one
    ports: DemoPorts


@dataclass(frozen=True)
class LocalWorkload:
    component: str  # the Deployment's app.kubernetes.io/component and the `spyops` subcommand
    local_flags: Callable[[ReplicaContext], list[str]]  # pod-fixed paths and ports -> local ones
    probe_port: Callable[[ReplicaContext], int]  # where /health, /ready, /metrics answer
    ready_path: str
    uses_service_account: bool


def _detector_flags(ctx: ReplicaContext) -> list[str]:
    return [
        "--host",
        "127.0.0.1",
        "--stream-port",
        str(ctx.ports.detector_signals),
        "--probe-port",
        str(ctx.ports.detector_metrics),
        "--outbox",
        str(ctx.work_dir / "outbox.sqlite3"),
    ]


def _bot_flags(ctx: ReplicaContext) -> list[str]:
    flags = [
        # The pod's state volume (journal and outbox in a slot); here a directory of the replica's own.
        "--state-dir",
        str(ctx.work_dir / "state"),
        "--probe-host",
        "127.0.0.1",
        "--probe-port",
        str(ctx.ports.bot_probe(ctx.ordinal)),
    ]
    if ctx.kubeconfig is not None:
        flags += ["--kubeconfig", str(ctx.kubeconfig)]
    return flags


# In start order: the detector serves the signal stream the bots subscribe to.
LOCAL_WORKLOADS: tuple[LocalWorkload, ...] = (
    LocalWorkload(
        component="detector",
        local_flags=_detector_flags,
        probe_port=lambda ctx: ctx.ports.detector_metrics,
        ready_path="/ready",
        uses_service_account=False,
    ),
    LocalWorkload(
        component="bot",
        local_flags=_bot_flags,
        probe_port=lambda ctx: ctx.ports.bot_probe(ctx.ordinal),
        # A replica that is not the leader is alive and hot but may not report ready; the demo
        # waits for liveness and lets the status on the TradingStrategy show who leads.
        ready_path="/health",
        uses_service_account=True,
    ),
)


def installed_commands() -> set[str]:
    """The `spyops` subcommands this installation has."""
    from spyops.cli import _COMPONENTS

    return {name for name, _ in _COMPONENTS}


def available_workloads(commands: set[str]) -> tuple[list[LocalWorkload], list[str]]:
    """(workloads that can run here, components that are missing from this installation)."""
    present = [w for w in LOCAL_WORKLOADS if w.component in commands]
    missing = [w.component for w in LOCAL_WORKLOADS if w.component not in commands]
    return present, missing


def pod_command_args(container: Mapping[str, object]) -> list[str]:
    """The container's command + args as the pod would run them."""
    command = container.get("command") or []
    args = container.get("args") or []
    assert isinstance(command, list)
    assert isinstance(args, list)
    return [str(part) for part in [*command, *args]]


def local_argv(python: str, pod_argv: list[str], config_file: Path, extra: list[str]) -> list[str]:
    """The pod's `spyops <component> --config /etc/spyops/config.json ...` run with this
    interpreter, with the config path pointing at the mirrored file, plus the local flags."""
    if not pod_argv or pod_argv[0] != "spyops":
        raise ValueError(f"expected the container to run `spyops ...`, got {pod_argv!r}")
    argv = list(pod_argv[1:])
    if "--config" in argv:
        index = argv.index("--config")
        if index + 1 >= len(argv):
            raise ValueError(f"--config without a value in {pod_argv!r}")
        argv[index + 1] = str(config_file)
    return [python, "-m", "spyops", *argv, *extra]


# The IBKRGateway's `simulator.scenario` is a name the simulator itself knows (its built-in scenarios), so
# the pod's command runs unchanged; the demo only sets the rate of the `anomalies` scenario
# (`spyops demo --anomalies-per-minute`).
DEMO_RATE_SCENARIO = "anomalies"


def _option(argv: list[str], name: str) -> str | None:
    if name in argv:
        index = argv.index(name)
        if index + 1 < len(argv):
            return argv[index + 1]
    return None


def _without(argv: list[str], *names: str) -> list[str]:
    out: list[str] = []
    skip = False
    for part in argv:
        if skip:
            skip = False
            continue
        if part in names:
            skip = True
            continue
        out.append(part)
    return out


def gateway_sim_argv(
    python: str,
    pod_argv: list[str],
    ports: DemoPorts,
    anomalies_per_minute: float,
) -> tuple[list[str], list[str]]:
    """The simulator pod's command as a local process: (argv, notes on what was changed)."""
    if pod_argv[:2] != ["spyops", "gateway-sim"]:
        raise ValueError(f"expected the gateway pod to run `spyops gateway-sim`, got {pod_argv!r}")
    notes = [
        f"--host {_option(pod_argv, '--host')} -> 127.0.0.1",
        f"--port {_option(pod_argv, '--port')} -> {ports.gateway_api}",
        f"--control-port {_option(pod_argv, '--control-port')} -> {ports.gateway_control}",
    ]
    argv = _without(pod_argv[2:], "--host", "--port", "--control-host", "--control-port", "--scenario")
    argv += [
        "--host",
        "127.0.0.1",
        "--port",
        str(ports.gateway_api),
        "--control-host",
        "127.0.0.1",
        "--control-port",
        str(ports.gateway_control),
    ]
    scenario = _option(pod_argv, "--scenario")
    if scenario is not None:
        from spyops.gatewaysim.scenario import builtin_names

        if scenario not in builtin_names():
            raise ValueError(
                f"the IBKRGateway's simulator scenario {scenario!r} is not one the simulator knows; "
                f"known: {', '.join(builtin_names())}"
            )
        argv += ["--scenario", scenario]
        if scenario == DEMO_RATE_SCENARIO:
            argv += ["--anomalies-per-minute", f"{anomalies_per_minute:g}"]
            notes.append(f"--scenario {scenario}: --anomalies-per-minute {anomalies_per_minute:g}")
    return [python, "-m", "spyops", "gateway-sim", *argv], notes
