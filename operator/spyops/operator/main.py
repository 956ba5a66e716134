"""`spyops operator`: run the controllers (kopf watches feeding work queues) with health, metrics,
JSON logs and optional Lease-based leader election."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from spyops.operator.vpnlink.engine import LinkEngine

log = logging.getLogger("spyops.operator")

DEFAULT_WORKLOAD_IMAGE = "ghcr.io/spyops/spyops:0.1.0"


@dataclass(frozen=True)
class OperatorOptions:
    namespaces: tuple[str, ...]
    all_namespaces: bool
    kubeconfig: Path | None
    metrics_host: str
    metrics_port: int
    workload_image: str
    workers: int
    leader_elect: bool
    lease_namespace: str
    lease_name: str
    identity: str
    azure_ca_bundle: Path | None = None
    azure_polling_interval: float = 10.0
    vpnlink_workers: int = 4
    lease_duration: float = 15.0


def _default_identity() -> str:
    return os.environ.get("POD_NAME") or f"{socket.gethostname()}-{os.getpid()}"


class _ManagedObjects:
    """Collector for spyops_operator_managed_objects{kind,phase} and spyops_operator_object_phase, read from
    the watch cache at scrape time. The per-object series lets an alert name the Stalled strategy."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "spyops_operator_managed_objects",
            "Custom resources managed, by kind and phase.",
            labels=["kind", "phase"],
        )
        per_object = GaugeMetricFamily(
            "spyops_operator_object_phase",
            "1 for the current status.phase of each custom resource.",
            labels=["kind", "namespace", "name", "phase"],
        )
        for kind in ("TradingStrategy", "IBKRGateway", "VpnLink"):
            for phase, count in sorted(self._cache.phases(kind).items()):
                family.add_metric([kind, phase], count)
            for namespace, name, phase in self._cache.object_phases(kind):
                per_object.add_metric([kind, namespace, name, phase], 1)
        yield family
        yield per_object


async def run(options: OperatorOptions) -> int:
    import tempfile

    import kopf

    from spyops.common.lease import LeaderElector, LeadershipLostError, LeaseTiming
    from spyops.operator import handlers, metrics
    from spyops.operator.health import HEARTBEAT_INTERVAL, HealthState, probe_server
    from spyops.operator.kube import Kube
    from spyops.operator.prime import child_kinds, prime_cache
    from spyops.operator.reconcile import OperatorSettings, Reconciler
    from spyops.operator.state import Cache
    from spyops.operator.vpnlink.controller import VpnLinkController
    from spyops.operator.vpnlink.metrics import VpnLinkMetrics
    from spyops.operator.workqueue import WorkQueue

    if options.kubeconfig is not None:
        # kopf's own login reads KUBECONFIG; lightkube is given the file explicitly.
        os.environ["KUBECONFIG"] = str(options.kubeconfig)
    state = HealthState()
    probes = probe_server(state)
    beat = asyncio.create_task(probes.beat_every(HEARTBEAT_INTERVAL))
    port = await probes.start(options.metrics_host, options.metrics_port)
    log.info("serving /health, /ready and /metrics", extra={"port": port})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    kube = Kube.connect(options.kubeconfig, options.identity)
    cache = Cache()
    metrics.REGISTRY.register(_ManagedObjects(cache))
    reconciler = Reconciler(kube, cache, OperatorSettings(workload_image=options.workload_image))
    gateways = WorkQueue("ibkrgateway", reconciler.reconcile_gateway, max(2, options.workers // 4))
    strategies = WorkQueue("tradingstrategy", reconciler.reconcile_strategy, options.workers)
    link_metrics = VpnLinkMetrics(metrics.REGISTRY)

    def make_engine() -> LinkEngine:
        # Imports the Azure SDK: done at the first VpnLink check, not at startup.
        from spyops.operator.vpnlink.azure_client import AzureClientSettings
        from spyops.operator.vpnlink.engine import LinkEngine

        settings = AzureClientSettings(
            connection_verify=str(options.azure_ca_bundle) if options.azure_ca_bundle else True,
            polling_interval=options.azure_polling_interval,
        )
        return LinkEngine(settings, link_metrics)

    ca_dir = Path(tempfile.mkdtemp(prefix="spyops-azure-ca-"))
    link_controller = VpnLinkController(kube, cache, make_engine, strategies, ca_dir)
    links = WorkQueue("vpnlink", link_controller.reconcile, options.vpnlink_workers)
    elector: LeaderElector | None = None
    exit_code = 0
    keeper: asyncio.Task[None] | None = None
    try:
        if options.leader_elect:
            elector = LeaderElector(
                kube.client,
                namespace=options.lease_namespace,
                lease_name=options.lease_name,
                identity=options.identity,
                timing=LeaseTiming.client_go(options.lease_duration),
            )
            state.standby = True
            state.connected = True
            acquiring = asyncio.create_task(elector.acquire())
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({acquiring, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not acquiring.done():
                acquiring.cancel()
                return 0
            stopping.cancel()
            state.standby = False
            keeper = asyncio.create_task(elector.keep())
        state.leader = True
        state.connected = True
        metrics.LEADER.set(1)

        registry = kopf.OperatorRegistry()
        # kopf needs a login handler; ours reads the same kubeconfig / in-cluster token as lightkube.
        kopf.on.login(registry=registry)(_login)
        handlers.register(registry, cache, gateways, strategies, links, link_controller.forget)

        settings = kopf.OperatorSettings()
        handlers.configure_settings(settings, options.identity)
        ready_flag = asyncio.Event()
        primed = await prime_cache(kube, cache, options.namespaces, child_kinds(handlers.CHILD_RESOURCES))
        log.info("cache primed", extra={"objects": primed})
        gateways.start()
        strategies.start()
        links.start()

        async def mark_watching() -> None:
            await ready_flag.wait()
            state.watching = True
            log.info("watching", extra={"namespaces": list(options.namespaces) or "all"})

        watching = asyncio.create_task(mark_watching())
        operator = asyncio.create_task(
            kopf.operator(
                registry=registry,
                settings=settings,
                standalone=True,
                clusterwide=options.all_namespaces,
                namespaces=options.namespaces,
                stop_flag=stop,
                ready_flag=ready_flag,
            )
        )
        waiters: set[asyncio.Task[Any]] = {operator}
        if keeper is not None:
            waiters.add(keeper)
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if keeper is not None and keeper in done:
            exc = keeper.exception()
            if isinstance(exc, LeadershipLostError):
                log.error(
                    "leadership lost; exiting so that only one replica reconciles", extra={"error": str(exc)}
                )
                exit_code = 1
            stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await operator
        if operator.done() and not operator.cancelled() and operator.exception() is not None:
            log.error("kopf stopped with an error", extra={"error": repr(operator.exception())})
            exit_code = 1
        watching.cancel()
    finally:
        state.leader = False
        metrics.LEADER.set(0)
        await links.stop()
        await gateways.stop()
        await strategies.stop()
        await link_controller.close()
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await keeper
        if elector is not None and exit_code == 0:
            with contextlib.suppress(Exception):
                await elector.release()
        await kube.close()
        beat.cancel()
        await probes.stop()
    return exit_code


def _check_files(kubeconfig: Path | None, azure_ca_bundle: Path | None) -> None:
    """Refuse an unusable kubeconfig or CA bundle before anything starts (one line, no traceback)."""
    import ssl

    from spyops.operator.kube import KubeConfigError, kube_config

    try:
        kube_config(kubeconfig)
    except KubeConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--kubeconfig") from exc
    if azure_ca_bundle is not None:
        try:
            ssl.create_default_context(cafile=str(azure_ca_bundle))
        except (OSError, ValueError, ssl.SSLError) as exc:
            raise typer.BadParameter(
                f"{azure_ca_bundle} is not a readable PEM CA bundle ({exc})", param_hint="--azure-ca-bundle"
            ) from exc


def _has_kubeconfig() -> bool:
    return bool(os.environ.get("KUBECONFIG")) or (Path.home() / ".kube" / "config").is_file()


def _login(**kwargs: Any) -> Any:
    import kopf

    if _has_kubeconfig():
        return kopf.login_with_kubeconfig(**kwargs)
    return kopf.login_with_service_account(**kwargs)


def run_operator(
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Namespace to watch (repeatable).")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace.")
    ] = False,
    kubeconfig: Annotated[
        Path | None, typer.Option("--kubeconfig", help="Kubeconfig file; else in-cluster/KUBECONFIG.")
    ] = None,
    metrics_host: Annotated[
        str, typer.Option("--metrics-host", help="Bind address of /metrics, /health, /ready.")
    ] = "0.0.0.0",
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Port of /metrics, /health, /ready (0: any).")
    ] = 8080,
    workload_image: Annotated[
        str,
        typer.Option(
            "--workload-image",
            envvar="SPYOPS_WORKLOAD_IMAGE",
            help="spyops image of the pods.",
        ),
    ] = DEFAULT_WORKLOAD_IMAGE,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Concurrent TradingStrategy reconciles.")
    ] = 16,
    leader_elect: Annotated[
        bool,
        typer.Option(
            "--leader-elect/--no-leader-elect",
            help="Lease-based leader election (for more than one replica).",
        ),
    ] = True,
    lease_namespace: Annotated[
        str,
        typer.Option(
            "--lease-namespace",
            envvar="POD_NAMESPACE",
            help="Namespace of the leader Lease (default: first -n).",
        ),
    ] = "",
    lease_name: Annotated[
        str, typer.Option("--lease-name", help="Name of the leader Lease.")
    ] = "spyops-operator",
    identity: Annotated[
        str, typer.Option("--identity", help="Leader identity (default: POD_NAME, else host-pid).")
    ] = "",
    lease_duration: Annotated[
        float,
        typer.Option(
            "--lease-duration",
            min=11.0,
            max=3600.0,
            help="Seconds a standby waits for an unrenewed Lease to expire (longer than the 10 s renew "
            "deadline).",
        ),
    ] = 15.0,
    log_level: Annotated[str, typer.Option("--log-level", help="DEBUG, INFO, WARNING, ERROR.")] = "INFO",
    azure_ca_bundle: Annotated[
        Path | None,
        typer.Option(
            "--azure-ca-bundle",
            envvar="SPYOPS_AZURE_CA_BUNDLE",
            exists=True,
            dir_okay=False,
            help="PEM CA bundle to trust for Azure endpoints (private or sovereign endpoint, azure-sim); "
            "default: the system roots.",
        ),
    ] = None,
    azure_polling_interval: Annotated[
        float,
        typer.Option(
            "--azure-polling-interval",
            envvar="SPYOPS_AZURE_POLLING_INTERVAL",
            min=0.0,
            max=300.0,
            help="Seconds between polls of an Azure reset operation when Azure sends no Retry-After.",
        ),
    ] = 10.0,
    vpnlink_workers: Annotated[
        int, typer.Option("--vpnlink-workers", min=1, max=64, help="Concurrent VpnLink checks.")
    ] = 4,
) -> None:
    """Run the spyops operator (TradingStrategy, IBKRGateway and VpnLink controllers)."""
    from spyops.operator.logs import configure_json_logging

    namespace = namespace or []
    if not namespace and not all_namespaces:
        raise typer.BadParameter(
            "give --namespace (repeatable) or --all-namespaces", param_hint="--namespace"
        )
    if namespace and all_namespaces:
        raise typer.BadParameter(
            "--namespace and --all-namespaces exclude each other", param_hint="--namespace"
        )
    lease_ns = lease_namespace or (namespace[0] if namespace else "")
    if leader_elect and not lease_ns:
        raise typer.BadParameter("leader election needs --lease-namespace (or POD_NAMESPACE)")
    _check_files(kubeconfig, azure_ca_bundle)
    configure_json_logging(log_level)
    # The Azure SDK logs every request and response at INFO; the VpnLink controller reports what matters.
    logging.getLogger("azure").setLevel(max(logging.WARNING, logging.getLogger().level))
    options = OperatorOptions(
        namespaces=tuple(namespace),
        all_namespaces=all_namespaces,
        kubeconfig=kubeconfig,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        workload_image=workload_image,
        workers=workers,
        leader_elect=leader_elect,
        lease_namespace=lease_ns,
        lease_name=lease_name,
        identity=identity or _default_identity(),
        azure_ca_bundle=azure_ca_bundle,
        azure_polling_interval=azure_polling_interval,
        vpnlink_workers=vpnlink_workers,
        lease_duration=lease_duration,
    )
    raise typer.Exit(asyncio.run(run(options)))
