"""`spyops cluster build | up | down | status | env`: the embedded control plane from a shell."""

from __future__ import annotations

import enum
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from spyops.cluster.controlplane import ClusterState as ClusterStateT

app = typer.Typer(
    help="A real local Kubernetes control plane (etcd, apiserver, controller-manager, "
    "scheduler) with a kwok-simulated node or a real node (kubelet, containerd), for tests and the demo.",
    no_args_is_help=True,
)


class NodeMode(enum.StrEnum):
    KWOK = "kwok"
    REAL = "real"


NameOption = Annotated[str, typer.Option("--name", help="Cluster name; each name has its own state.")]


def default_state_root() -> Path:
    explicit = os.environ.get("SPYOPS_STATE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "spyops"


def state_dir_for(name: str) -> Path:
    return default_state_root() / "clusters" / name


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=1)


@app.command()
def build(
    node: Annotated[
        NodeMode, typer.Option("--node", help="real: also kubelet, kube-proxy and CoreDNS for the real node.")
    ] = NodeMode.KWOK,
) -> None:
    """Build (or find in the cache) the pinned control-plane binaries."""
    from spyops.cluster.binaries import ensure_binaries, pinned_versions
    from spyops.cluster.node.binaries import ensure_node_binaries
    from spyops.toolchain import GoBuildError

    started = time.monotonic()
    try:
        binaries = ensure_binaries(progress=typer.echo)
        if node is NodeMode.REAL:
            built = ensure_node_binaries(progress=typer.echo)
            typer.echo(f"real-node binaries ready in {built.kubelet.parent} and {built.coredns.parent}")
    except GoBuildError as exc:
        raise _fail(str(exc)) from exc
    versions = ", ".join(f"{k} {v}" for k, v in pinned_versions().items())
    typer.echo(
        f"control-plane binaries ready ({versions}) in {binaries.kube_apiserver.parent} "
        f"[{time.monotonic() - started:.1f} s]"
    )


@app.command()
def up(
    name: NameOption = "default",
    port: Annotated[
        int | None, typer.Option("--port", help="kube-apiserver port (default: a free one).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for every component.")] = 120.0,
    node: Annotated[
        NodeMode,
        typer.Option(
            "--node",
            help="kwok: a simulated node (no container runs); real: kubelet, containerd + runc, kube-proxy, "
            "CoreDNS and a local-path provisioner, with the spyops images loaded (needs root and "
            "`make node-runtime`).",
        ),
    ] = NodeMode.KWOK,
) -> None:
    """Start the control plane (and its node) in the background and write an admin kubeconfig."""
    from spyops.cluster.binaries import ensure_binaries
    from spyops.cluster.controlplane import ClusterError, ClusterState, ControlPlane, stop_recorded
    from spyops.toolchain import GoBuildError

    state_dir = state_dir_for(name)
    existing = ClusterState.load(state_dir)
    if existing is not None:
        running = [c.name for c in existing.components if _alive(c.pid, c.binary)]
        if running:
            raise _fail(
                f"cluster {name!r} is already running ({', '.join(running)}); "
                f"use it (`spyops cluster env --name {name}`) or stop it with `spyops cluster down --name {name}`"
            )
        stop_recorded(existing)
        if existing.node is not None:
            from spyops.cluster.node.realnode import cleanup_node

            cleanup_node(existing.node)
        shutil.rmtree(state_dir, ignore_errors=True)
    started = time.monotonic()
    if node is NodeMode.REAL:
        state = _up_real(state_dir, name, port, max(timeout, 240.0))
    else:
        try:
            binaries = ensure_binaries(progress=typer.echo)
            plane = ControlPlane(
                state_dir, binaries, name=name, apiserver_port=port, detached=True, progress=typer.echo
            )
            state = plane.start(timeout=timeout)
        except (ClusterError, GoBuildError) as exc:
            shutil.rmtree(state_dir, ignore_errors=True)
            raise _fail(str(exc)) from exc
    typer.echo(f"cluster {name!r} is up at {state.server} in {time.monotonic() - started:.1f} s")
    typer.echo(f"kubeconfig: {state.kubeconfig}")
    typer.echo(f"export KUBECONFIG={state.kubeconfig}")


def _up_real(state_dir: Path, name: str, port: int | None, timeout: float) -> ClusterStateT:
    from spyops.cluster.binaries import ensure_binaries
    from spyops.cluster.node.binaries import ensure_node_binaries
    from spyops.cluster.node.realnode import RealNodeCluster, node_error_types
    from spyops.images.build import all_tags, require_images

    try:
        require_images(all_tags())
        cluster = RealNodeCluster(
            state_dir,
            ensure_binaries(progress=typer.echo),
            ensure_node_binaries(progress=typer.echo),
            images=all_tags(),
            name=name,
            apiserver_port=port,
            detached=True,
            progress=typer.echo,
        )
        state = cluster.start(timeout=timeout)
    except node_error_types() as exc:
        shutil.rmtree(state_dir, ignore_errors=True)
        raise _fail(str(exc)) from exc
    if cluster.timings is not None:
        typer.echo(
            f"node {state.node and state.node['name']} Ready {cluster.timings.node_ready_seconds} s after kubelet started"
        )
    return state


def _alive(pid: int, binary: str) -> bool:
    from spyops.cluster.controlplane import process_alive

    return process_alive(pid, binary)


@app.command()
def down(name: NameOption = "default") -> None:
    """Stop every process `up` started and remove the cluster's state."""
    from spyops.cluster.controlplane import ClusterError, ClusterState, stop_recorded

    state_dir = state_dir_for(name)
    try:
        state = ClusterState.load(state_dir)
    except ClusterError as exc:
        raise _fail(str(exc)) from exc
    if state is None:
        typer.echo(f"cluster {name!r} is not running; nothing to stop")
        return
    stopped = stop_recorded(state)
    if state.node is not None:
        from spyops.cluster.node.realnode import cleanup_node

        left = cleanup_node(state.node)
        if left:
            raise _fail(f"cluster {name!r} stopped, but these could not be removed: {', '.join(left)}")
    shutil.rmtree(state_dir, ignore_errors=True)
    typer.echo(
        f"cluster {name!r} stopped ({', '.join(stopped) or 'no process was still running'}); "
        f"removed {state_dir}"
    )


@app.command()
def status(name: NameOption = "default") -> None:
    """Say what runs. Exit code 0 when every component runs, 1 otherwise."""
    from spyops.cluster.controlplane import ClusterError, ClusterState

    try:
        state = ClusterState.load(state_dir_for(name))
    except ClusterError as exc:
        raise _fail(str(exc)) from exc
    if state is None:
        typer.echo(f"cluster {name!r} is not running")
        raise typer.Exit(code=1)
    all_up = True
    typer.echo(f"cluster {name!r}: {state.server} (kubeconfig {state.kubeconfig})")
    for component in state.components:
        alive = _alive(component.pid, component.binary)
        all_up &= alive
        typer.echo(f"  {component.name:<24} pid {component.pid:<8} {'running' if alive else 'NOT RUNNING'}")
    versions = ", ".join(f"{k} {v}" for k, v in state.versions.items())
    typer.echo(f"  versions: {versions}")
    if not all_up:
        raise typer.Exit(code=1)


@app.command()
def env(name: NameOption = "default") -> None:
    """Print the `export KUBECONFIG=...` line for a running cluster."""
    from spyops.cluster.controlplane import ClusterError, ClusterState

    try:
        state = ClusterState.load(state_dir_for(name))
    except ClusterError as exc:
        raise _fail(str(exc)) from exc
    if state is None:
        raise _fail(f"cluster {name!r} is not running; start it with `spyops cluster up`")
    typer.echo(f"export KUBECONFIG={state.kubeconfig}")
