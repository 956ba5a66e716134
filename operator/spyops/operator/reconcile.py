"""The reconcilers: read a custom resource, apply its children, write its status. Level-based and
idempotent, so a crash at any point is repaired by simply running again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError
from pydantic import ValidationError

from spyops.operator import conditions as cond
from spyops.operator import metrics, refusals
from spyops.operator.api.common import API_VERSION
from spyops.operator.api.gateway import GatewayPhase, IBKRGatewaySpec, TradingMode
from spyops.operator.api.strategy import OPERATOR_STATUS_FIELDS, StrategyPhase, TradingStrategySpec
from spyops.operator.builders.common import Owner
from spyops.operator.builders.gateway import (
    GatewayInputs,
    build_gateway_children,
    gateway_mode,
    gateway_selector,
)
from spyops.operator.builders.strategy import StrategyInputs, bot_name, build_strategy_children, detector_name
from spyops.operator.builders.strategy import selector as strategy_selector
from spyops.operator.drift import child_up_to_date
from spyops.operator.kube import Kube
from spyops.operator.podhealth import PodProblem, claims_to_check, diagnose
from spyops.operator.render import GatewayTarget, LinkState, gateway_host, render_runtime_config
from spyops.operator.state import Cache
from spyops.operator.status_change import Change, classify, progress_delay
from spyops.operator.vpnlink.conditions import ConditionValue, cloud_link_ready
from spyops.operator.vpnlink.model import engine_status
from spyops.operator.workqueue import Key
from spyops.schemas.runtime_config import TradingState

log = logging.getLogger(__name__)

STRATEGY = "TradingStrategy"
GATEWAY = "IBKRGateway"
VPNLINK = "VpnLink"

# Look again this often while something outside our watches may change (a Secret appearing).
RECHECK_SECONDS = 30.0
POD_RECHECK_SECONDS = 10.0  # while a workload is not Ready, its pods are looked at this often
# While a rollout lasts, a status write that only moves its counters and messages waits this long after
# the previous one (spyops.operator.status_change); a change of phase or condition is written at once.
PROGRESS_WRITE_INTERVAL = 10.0
STRATEGY_PROGRESS_FIELDS = ("replicas", "readyReplicas", "readyBots", "detectorReady")
GATEWAY_PROGRESS_FIELDS = ("replicas", "readyReplicas")
_WARNING_REASONS = frozenset(
    {
        "ImagePullBackOff",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
        "VolumePending",
        "Unschedulable",
        "GatewayNotFound",
        "SecretNotFound",
        "SecretKeyMissing",
        "CredentialsMissing",
        "CloudLinkNotFound",
        "LinkDown",
        "LinkDegraded",
        "InvalidSpec",
    }
)
# Config and identity before the workloads that use them (a pod needs its ServiceAccount).
# Claims too: a pod created before its claim waits for the scheduler's next retry.
FIRST_WAVE = frozenset(
    {"ConfigMap", "ServiceAccount", "Role", "RoleBinding", "Service", "PersistentVolumeClaim"}
)
GATEWAY_STATUS_FIELDS = (
    "observedGeneration",
    "conditions",
    "phase",
    "mode",
    "replicas",
    "readyReplicas",
    "endpoint",
)


@dataclass(frozen=True)
class OperatorSettings:
    workload_image: str


def _spec_error(exc: ValidationError) -> str:
    # A validator's own message reads better without pydantic's "Value error, " prefix.
    return "; ".join(
        f"spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
        for e in exc.errors()
    )


def apply_waves(children: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The order children are applied in: config and identity first, the workloads after; a
    RoleBinding after its Role, since the API server judges a binding against the rules of the Role
    it names (a binding created while its Role is not there yet is answered 404)."""
    return [
        [c for c in children if c["kind"] in FIRST_WAVE and c["kind"] != "RoleBinding"],
        [c for c in children if c["kind"] == "RoleBinding"],
        [c for c in children if c["kind"] not in FIRST_WAVE],
    ]


def _rollout_complete(live: dict[str, Any] | None, wanted_replicas: int) -> tuple[bool, int, int]:
    """(done, replicas, ready) of a Deployment or StatefulSet as the controllers report it."""
    if live is None:
        return False, 0, 0
    status = live.get("status") or {}
    generation = live.get("metadata", {}).get("generation", 0)
    replicas = int(status.get("replicas", 0))
    ready = int(status.get("readyReplicas", 0))
    updated = int(status.get("updatedReplicas", 0))
    observed = int(status.get("observedGeneration", 0)) >= generation
    if live.get("kind") == "StatefulSet":
        same_revision = (
            status.get("currentRevision") == status.get("updateRevision") or updated == wanted_replicas
        )
        done = observed and ready == wanted_replicas and same_revision and replicas == wanted_replicas
    else:
        available = int(status.get("availableReplicas", 0))
        done = (
            observed
            and updated == wanted_replicas
            and available == wanted_replicas
            and replicas == wanted_replicas
        )
    return done, replicas, ready


class Reconciler:
    def __init__(self, kube: Kube, cache: Cache, settings: OperatorSettings) -> None:
        self.kube = kube
        self.cache = cache
        self.settings = settings
        # (kind, namespace, name) -> when this replica last wrote the object's status (monotonic).
        self._status_written: dict[tuple[str, str, str], float] = {}

    # -- shared ---------------------------------------------------------------------------------

    async def _current(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        body = self.cache.resource(kind, namespace, name)
        if body is not None:
            return body
        body = await self.kube.get(API_VERSION, kind, namespace, name)
        if body is not None:
            self.cache.put_resource(kind, body)
        return body

    async def _apply_children(
        self, children: Sequence[dict[str, Any]]
    ) -> tuple[dict[str, dict[str, Any]], list[refusals.Refusal]]:
        """Apply the children that differ from what we saw (all, if never seen); return live objects by
        kind/name and the children the API server refused (the workloads are not applied when config
        or identity was refused). Other API errors raise, for the work queue to retry."""

        async def one(desired: dict[str, Any]) -> dict[str, Any] | refusals.Refusal:
            live = self.cache.child(desired)
            if child_up_to_date(desired, live):
                assert live is not None
                return live
            metrics.CHILD_APPLIES.labels(desired["kind"], "create" if live is None else "update").inc()
            try:
                applied = await self.kube.apply(desired)
            except ApiError as exc:
                refusal = refusals.refusal_of(desired, exc)
                if refusal is None:
                    raise
                return refusal
            self.cache.put_child(applied)
            return applied

        results: list[dict[str, Any] | refusals.Refusal] = []
        for wave in apply_waves(children):
            if any(isinstance(r, refusals.Refusal) for r in results):
                break
            results += await asyncio.gather(*(one(c) for c in wave))
        live = {f"{r['kind']}/{r['metadata']['name']}": r for r in results if isinstance(r, dict)}
        return live, [r for r in results if isinstance(r, refusals.Refusal)]

    async def _owner_still_there(
        self, kind: str, body: dict[str, Any], children: Sequence[dict[str, Any]]
    ) -> bool:
        """Before (re)creating a missing child, make sure the owner was not deleted meanwhile: the
        children's deletion events may arrive before the owner's own (separate watch streams)."""
        if all(self.cache.child(c) is not None for c in children):
            return True
        meta = body["metadata"]
        if not self.cache.children_seen(meta["uid"]):
            # No child of it was ever seen, so none can be gone with it: a new owner (a GET per new
            # strategy was a read per strategy for nothing).
            return True
        fresh = await self.kube.get(API_VERSION, kind, meta["namespace"], meta["name"])
        if (
            fresh is None
            or fresh["metadata"]["uid"] != meta["uid"]
            or fresh["metadata"].get("deletionTimestamp")
        ):
            if fresh is None:
                self.cache.drop_resource(kind, meta["namespace"], meta["name"])
            else:
                self.cache.put_resource(kind, fresh)
            return False
        return True

    async def _write_status(
        self,
        kind: str,
        body: dict[str, Any],
        status: dict[str, Any],
        owned: Sequence[str],
        progress: Sequence[str] = (),
    ) -> float | None:
        """Merge-patch the operator's own status keys when they changed; post Events for transitions.
        A change of only the ``progress`` keys and condition messages waits PROGRESS_WRITE_INTERVAL
        after this object's previous write: returns the seconds to look again then (None: written or
        nothing to write)."""
        current = body.get("status") or {}
        change = classify(current, status, owned, progress)
        if change is Change.NONE:
            return None
        meta = body["metadata"]
        written_key = (kind, meta["namespace"], meta["name"])
        now = time.monotonic()
        if change is Change.PROGRESS:
            delay = progress_delay(self._status_written.get(written_key), now, PROGRESS_WRITE_INTERVAL)
            if delay is not None:
                metrics.STATUS_WRITES_DEFERRED.labels(kind).inc()
                return delay
        patch = {k: status.get(k) for k in owned}
        updated = await self.kube.patch_status(API_VERSION, kind, meta["namespace"], meta["name"], patch)
        # Counted from the answer, so the API server too sees no two progress writes closer than that.
        self._status_written[written_key] = time.monotonic()
        self.cache.put_resource(kind, updated)
        for old, new in cond.transitions(current.get("conditions"), status.get("conditions") or []):
            await self._event_for(body, old, new)
        return None

    async def _event_for(self, body: dict[str, Any], old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        """An Event for a transition a person would want to see: Ready changes, problems, the kill switch."""
        kind, status, reason = new["type"], new["status"], new["reason"]
        warning = (
            (kind == cond.STALLED and status == cond.TRUE)
            or (kind == cond.RISK_HALTED and status == cond.TRUE)
            # Stalled=False is never news, whatever reason it quotes (it repeated Ready's warning).
            or (status == cond.FALSE and reason in _WARNING_REASONS and kind != cond.STALLED)
        )
        if kind == cond.READY:
            if old is None and status != cond.TRUE and not warning:
                return  # a new object that is not ready yet is not news
        elif not warning and (old is None or kind in (cond.RECONCILING, cond.STALLED)):
            return  # domain conditions: report recoveries, not their first healthy value
        note = f"{kind}={status}: {new['message'] or reason}"
        await self.kube.event(body, "Warning" if warning else "Normal", reason, note, kind)

    # -- IBKRGateway ----------------------------------------------------------------------------

    async def reconcile_gateway(self, key: Key) -> float | None:
        body = await self._current(GATEWAY, key.namespace, key.name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            self._status_written.pop((GATEWAY, key.namespace, key.name), None)
            return None
        meta = body["metadata"]
        generation = int(meta.get("generation", 1))
        current = body.get("status") or {}
        try:
            spec = IBKRGatewaySpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            message = _spec_error(exc)
            status = {
                "observedGeneration": generation,
                "phase": GatewayPhase.STALLED.value,
                "conditions": cond.merge_conditions(
                    current.get("conditions"),
                    cond.kstatus_triplet(False, "InvalidSpec", message, True),
                    generation,
                ),
            }
            await self._write_status(GATEWAY, body, status, ("observedGeneration", "phase", "conditions"))
            return None
        owner = Owner(GATEWAY, meta["name"], meta["namespace"], meta["uid"])
        creds_ok, creds_reason, creds_message = await self._check_credentials(meta["namespace"], spec)
        children = build_gateway_children(GatewayInputs(owner, spec, self.settings.workload_image))
        if not await self._owner_still_there(GATEWAY, body, children):
            return 0.0
        live, refused = await self._apply_children(children)
        done, replicas, ready = _rollout_complete(live.get(f"StatefulSet/{meta['name']}"), 1)
        is_ready = creds_ok and done and ready >= 1 and not refused
        if refused:
            triplet = cond.kstatus_triplet(False, refusals.REASON, refusals.summary(refused), True)
            phase = GatewayPhase.STALLED
        elif is_ready:
            triplet = cond.kstatus_triplet(True, "GatewayReady", "the gateway pod passed its API check")
            phase = GatewayPhase.READY
        elif not creds_ok:
            triplet = cond.kstatus_triplet(False, creds_reason, creds_message)
            phase = GatewayPhase.DEGRADED
        elif problem := await self._pod_problem(meta["namespace"], "gateway", gateway_selector(meta["name"])):
            triplet = cond.kstatus_triplet(False, problem.reason, problem.message, problem.stalled)
            phase = GatewayPhase.STALLED if problem.stalled else GatewayPhase.PROGRESSING
        else:
            triplet = cond.kstatus_triplet(False, "Progressing", f"{ready}/1 gateway pods ready")
            phase = GatewayPhase.PROGRESSING
        wanted = [
            *triplet,
            cond.Wanted(
                cond.CREDENTIALS_AVAILABLE, cond.TRUE if creds_ok else cond.FALSE, creds_reason, creds_message
            ),
        ]
        status = {
            "observedGeneration": generation,
            "conditions": cond.merge_conditions(current.get("conditions"), wanted, generation),
            "phase": phase.value,
            "mode": gateway_mode(spec),
            "replicas": replicas,
            "readyReplicas": ready,
            "endpoint": f"{gateway_host(meta['name'], meta['namespace'])}:{spec.api_port}",
        }
        deferred = await self._write_status(
            GATEWAY, body, status, GATEWAY_STATUS_FIELDS, GATEWAY_PROGRESS_FIELDS
        )
        if refused:
            after: float | None = refusals.RECHECK_SECONDS
        elif not creds_ok:
            after = RECHECK_SECONDS
        else:
            # Pod failures change no watched object (the StatefulSet's counters stay put): look again.
            after = None if is_ready else POD_RECHECK_SECONDS
        return _sooner(after, deferred)

    async def _check_credentials(self, namespace: str, spec: IBKRGatewaySpec) -> tuple[bool, str, str]:
        if spec.simulator is not None:
            return True, "SimulatorMode", "the simulator needs no credentials"
        ref = spec.credentials_secret_ref
        if ref is None:
            return False, "CredentialsMissing", "spec.credentialsSecretRef is not set"
        secret = await self.kube.get("v1", "Secret", namespace, ref.name)
        if secret is None:
            return (
                False,
                "SecretNotFound",
                f"Secret {ref.name} (spec.credentialsSecretRef.name) does not exist",
            )
        data = {**(secret.get("data") or {}), **(secret.get("stringData") or {})}
        missing = [key for key in (ref.username_key, ref.password_key) if not data.get(key)]
        if missing:
            keys = ", ".join(missing)
            return False, "SecretKeyMissing", f"Secret {ref.name} has no (or an empty) key: {keys}"
        return True, "CredentialsFound", f"Secret {ref.name} has the user name and password keys"

    # -- TradingStrategy ------------------------------------------------------------------------

    async def _link_state(
        self, namespace: str, spec: TradingStrategySpec
    ) -> tuple[LinkState | None, cond.Wanted]:
        if spec.cloud_link_ref is None:
            return None, cond.Wanted(cond.CLOUD_LINK_READY, cond.TRUE, "NoCloudLink", "no VpnLink configured")
        name = spec.cloud_link_ref.name
        link = await self._current(VPNLINK, namespace, name)
        if link is None:
            return None, cond.Wanted(
                cond.CLOUD_LINK_READY,
                cond.FALSE,
                "CloudLinkNotFound",
                f"VpnLink {name} (spec.cloudLinkRef) not found",
            )
        status = engine_status(link.get("status"))
        failover = (link.get("spec") or {}).get("failover") or {}
        outbound = self.cache.link_outbound.get((namespace, name), status.outbound.value)
        state = LinkState(
            health=status.health.value, outbound=outbound, backup_url=failover.get("backupUrl") or ""
        )
        ready = cloud_link_ready(name, status)
        if ready.status != cond.TRUE:
            ready = ConditionValue(
                ready.type, ready.status, ready.reason, f"{ready.message}; trading continues"
            )
        return state, cond.Wanted(ready.type, ready.status, ready.reason, ready.message)

    async def reconcile_strategy(self, key: Key) -> float | None:
        body = await self._current(STRATEGY, key.namespace, key.name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            self._status_written.pop((STRATEGY, key.namespace, key.name), None)
            return None
        meta = body["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        generation = int(meta.get("generation", 1))
        current = body.get("status") or {}
        status: dict[str, Any] = {"observedGeneration": generation}
        try:
            spec = TradingStrategySpec.model_validate(body.get("spec") or {})
        except ValidationError as exc:
            message = _spec_error(exc)
            status["phase"] = StrategyPhase.STALLED.value
            status["conditions"] = cond.merge_conditions(
                current.get("conditions"),
                cond.kstatus_triplet(False, "InvalidSpec", message, True),
                generation,
            )
            await self._write_status(STRATEGY, body, status, ("observedGeneration", "phase", "conditions"))
            return None

        halted = spec.trading_state == TradingState.HALTED or current.get("enforcedTradingState") == "HALTED"
        risk = cond.Wanted(
            cond.RISK_HALTED,
            cond.TRUE if halted else cond.FALSE,
            "KillSwitch"
            if spec.trading_state == TradingState.HALTED
            else ("RiskLimit" if halted else "Trading"),
            f"tradingState {spec.trading_state.value}"
            + (
                f", enforced {current['enforcedTradingState']}" if current.get("enforcedTradingState") else ""
            ),
        )
        leader = current.get("leader")
        leader_condition = cond.Wanted(
            cond.LEADER_ELECTED,
            cond.TRUE if leader else cond.FALSE,
            "LeaderElected" if leader else "NoLeader",
            f"{leader} holds the Lease" if leader else "no bot replica holds the Lease yet",
        )
        link_state, link_condition = await self._link_state(namespace, spec)

        gateway_name = spec.gateway_ref.name
        gateway = await self._current(GATEWAY, namespace, gateway_name)
        if gateway is None:
            message = f"IBKRGateway {gateway_name} (spec.gatewayRef.name) does not exist; waiting for it"
            wanted = [
                *cond.kstatus_triplet(False, "WaitingForGateway", message),
                cond.Wanted(cond.GATEWAY_READY, cond.FALSE, "GatewayNotFound", message),
                link_condition,
                leader_condition,
                risk,
            ]
            status.update(
                conditions=cond.merge_conditions(current.get("conditions"), wanted, generation),
                phase=StrategyPhase.PENDING.value,
                replicas=0,
                readyReplicas=0,
                readyBots=f"0/{spec.replicas}",
                detectorReady=False,
                gatewayEndpoint=None,
                outboundMode=None,
            )
            await self._write_status(STRATEGY, body, status, OPERATOR_STATUS_FIELDS)
            return None

        gateway_spec_raw = gateway.get("spec") or {}
        gateway_port = int(gateway_spec_raw.get("apiPort", 4002))
        gateway_mode_value = gateway_spec_raw.get("tradingMode", TradingMode.PAPER.value)
        gateway_ready = cond.is_true((gateway.get("status") or {}).get("conditions"), cond.READY)
        target = GatewayTarget(gateway_host(gateway_name, namespace), gateway_port, gateway_mode_value)
        config = render_runtime_config(namespace, name, spec, target, link_state)
        owner = Owner(STRATEGY, name, namespace, meta["uid"])
        service_monitor = await self.kube.api_available(
            "monitoring.coreos.com/v1", "ServiceMonitor", namespace
        )
        children = build_strategy_children(
            StrategyInputs(owner, spec, config, self.settings.workload_image, service_monitor)
        )
        if not await self._owner_still_there(STRATEGY, body, children):
            return 0.0
        live, refused = await self._apply_children(children)
        wanted_bots = 0 if spec.suspend else spec.replicas
        bots_done, bot_replicas, bot_ready = _rollout_complete(
            live.get(f"Deployment/{bot_name(name)}"), wanted_bots
        )
        detector_done, _, detector_ready = _rollout_complete(
            live.get(f"Deployment/{detector_name(name)}"), 0 if spec.suspend else 1
        )
        gateway_condition = (
            cond.Wanted(cond.GATEWAY_READY, cond.TRUE, "GatewayReady", f"IBKRGateway {gateway_name} is Ready")
            if gateway_ready
            else cond.Wanted(
                cond.GATEWAY_READY,
                cond.FALSE,
                "GatewayNotReady",
                f"IBKRGateway {gateway_name} is not Ready yet",
            )
        )
        if refused:
            triplet = cond.kstatus_triplet(False, refusals.REASON, refusals.summary(refused), True)
            phase = StrategyPhase.STALLED
        elif spec.suspend:
            triplet = [
                cond.Wanted(
                    cond.READY, cond.FALSE, "Suspended", "spec.suspend is true: workloads scaled to zero"
                ),
                cond.Wanted(cond.RECONCILING, cond.FALSE, "Suspended", "spec.suspend is true"),
                cond.Wanted(cond.STALLED, cond.FALSE, "Suspended", "spec.suspend is true"),
            ]
            phase = StrategyPhase.SUSPENDED
        elif not gateway_ready:
            why = (cond.find((gateway.get("status") or {}).get("conditions"), cond.READY) or {}).get(
                "message"
            )
            triplet = cond.kstatus_triplet(
                False,
                "WaitingForGateway",
                f"IBKRGateway {gateway_name} is not Ready" + (f": {why}" if why else ""),
            )
            phase = StrategyPhase.PROGRESSING
        elif not (bots_done and detector_done) and (
            problem := await self._strategy_pod_problem(namespace, name)
        ):
            triplet = cond.kstatus_triplet(False, problem.reason, problem.message, problem.stalled)
            phase = StrategyPhase.STALLED if problem.stalled else StrategyPhase.PROGRESSING
        elif not (bots_done and detector_done):
            triplet = cond.kstatus_triplet(
                False,
                "RollingOut",
                f"bots {bot_ready}/{wanted_bots} ready, detector {'ready' if detector_done else 'not ready'}",
            )
            phase = StrategyPhase.PROGRESSING
        else:
            triplet = cond.kstatus_triplet(
                True, "Running", f"detector and {bot_ready}/{wanted_bots} bots ready"
            )
            phase = StrategyPhase.HALTED if halted else StrategyPhase.RUNNING
        wanted = [*triplet, gateway_condition, link_condition, leader_condition, risk]
        status.update(
            conditions=cond.merge_conditions(current.get("conditions"), wanted, generation),
            phase=phase.value,
            replicas=bot_replicas,
            readyReplicas=bot_ready,
            readyBots=f"{bot_ready}/{wanted_bots}",
            detectorReady=detector_done and detector_ready >= (0 if spec.suspend else 1),
            gatewayEndpoint=f"{target.host}:{target.port}",
            outboundMode=config.outbound.mode.value,
        )
        deferred = await self._write_status(
            STRATEGY, body, status, OPERATOR_STATUS_FIELDS, STRATEGY_PROGRESS_FIELDS
        )
        if refused:
            return _sooner(refusals.RECHECK_SECONDS, deferred)
        # Pod failures change no watched object (the Deployments' counters stay put): look again.
        return _sooner(
            None
            if spec.suspend or phase in (StrategyPhase.RUNNING, StrategyPhase.HALTED)
            else POD_RECHECK_SECONDS,
            deferred,
        )

    async def _pod_problem(self, namespace: str, component: str, labels: dict[str, str]) -> PodProblem | None:
        # From the watch-fed cache (pods of the workloads, the strategies' claims are children): a look
        # costs the API server nothing. It used to LIST pods and GET claims, twice per strategy per look,
        # which at 500 strategies rolling out at once was more requests than applying their children.
        pods = self.cache.pods(namespace, labels)
        claims: dict[str, dict[str, Any]] = {}
        for claim_name in claims_to_check(pods):
            ref = {"apiVersion": "v1", "kind": "PersistentVolumeClaim"}
            claim = self.cache.child({**ref, "metadata": {"namespace": namespace, "name": claim_name}})
            if claim is None:
                # Not one we made (a StatefulSet's claim template's), or gone: ask.
                claim = await self.kube.get("v1", "PersistentVolumeClaim", namespace, claim_name)
            if claim is not None:
                claims[claim_name] = claim
        return diagnose(component, pods, claims, time.time())

    async def _strategy_pod_problem(self, namespace: str, name: str) -> PodProblem | None:
        detector = await self._pod_problem(namespace, "detector", strategy_selector(name, "detector"))
        bots = await self._pod_problem(namespace, "bot", strategy_selector(name, "bot"))
        found = [p for p in (detector, bots) if p is not None]
        found.sort(key=lambda p: not p.stalled)
        return found[0] if found else None


def _sooner(first: float | None, second: float | None) -> float | None:
    """The earlier of two requeue delays (None: no requeue)."""
    if first is None:
        return second
    return first if second is None else min(first, second)
