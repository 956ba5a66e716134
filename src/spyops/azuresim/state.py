"""The simulated Azure side of one site-to-site link: state, faults, LROs, tokens, request log.

Everything here is synchronous and driven by an injected clock, so the HTTP layer
stays thin and tests can reason about time. Timed changes (scenario steps, a link
coming back after a reset) are applied lazily by :meth:`LinkSimulation.advance`,
which every request calls first.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt

from spyops.azuresim.commands import (
    ConnectionStatus,
    ConnectionUpdate,
    ControlCommand,
    FaultSpec,
    GatewayUpdate,
    Operation,
    ProvisioningState,
    ResetBehavior,
    Scenario,
)

Clock = Callable[[], float]

REQUEST_LOG_LIMIT = 2000
TOKEN_LIFETIME_SECONDS = 3600
ARM_AUDIENCE = "https://management.azure.com/"


@dataclass(frozen=True)
class SimConfig:
    """Names of the simulated resources and the credentials the simulator accepts."""

    subscription_id: str = "00000000-0000-0000-0000-000000000001"
    resource_group: str = "spyops-rg"
    gateway_name: str = "spyops-vpngw"
    connection_name: str = "spyops-s2s"
    location: str = "westeurope"
    tenant_id: str = "00000000-0000-0000-0000-0000000000aa"
    client_id: str = "00000000-0000-0000-0000-0000000000bb"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    identity_header: str = field(default_factory=lambda: secrets.token_urlsafe(16), repr=False)
    # The projected service-account token a workload-identity pod presents as client_assertion.
    federated_token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    shared_key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    tunnel_names: tuple[str, ...] = ("tunnel-0", "tunnel-1")


@dataclass
class Tunnel:
    name: str
    status: ConnectionStatus = ConnectionStatus.CONNECTED
    ingress_bytes: int = 0
    egress_bytes: int = 0
    last_established: str = ""


@dataclass
class PendingOperation:
    op_id: str
    target: str  # "connection" | "gateway"
    polls_left: int
    behavior: ResetBehavior
    finished: bool = False
    succeeded: bool = False


@dataclass(frozen=True)
class RequestRecord:
    time: float
    method: str
    path: str
    operation: str
    status: int
    api_version: str

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "operation": self.operation,
            "status": self.status,
            "apiVersion": self.api_version,
        }


@dataclass
class _ActiveFault:
    spec: FaultSpec
    remaining: int


@dataclass(frozen=True)
class FaultDecision:
    status: int | None
    retry_after: int | None
    hang_seconds: float | None


def _utc_stamp(wall: float) -> str:
    # The service's format for lastConnectionEstablishedUtcTime is undocumented; this
    # mimics the commonly reported "M/D/YYYY h:mm:ss AM" form. Clients treat it as opaque.
    t = time.gmtime(wall)
    hour = t.tm_hour % 12 or 12
    half = "AM" if t.tm_hour < 12 else "PM"
    return f"{t.tm_mon}/{t.tm_mday}/{t.tm_year} {hour}:{t.tm_min:02d}:{t.tm_sec:02d} {half}"


class LinkSimulation:
    """State of one gateway and one connection, plus what the control API scripts."""

    def __init__(
        self, config: SimConfig, clock: Clock = time.monotonic, wall_clock: Clock = time.time
    ) -> None:
        self.config = config
        self.clock = clock
        self._wall = wall_clock
        self._signing_key = secrets.token_bytes(32)
        self.connection_status = ConnectionStatus.CONNECTED
        self.tunnels = [
            Tunnel(name=n, last_established=_utc_stamp(wall_clock())) for n in config.tunnel_names
        ]
        self.ingress_bytes = 0
        self.egress_bytes = 0
        self.bytes_per_read = 4096
        self.gateway_state = ProvisioningState.SUCCEEDED
        self.reset_behavior: dict[str, ResetBehavior] = {
            "connection": ResetBehavior(target="connection"),
            "gateway": ResetBehavior(target="gateway"),
        }
        self.operations: dict[str, PendingOperation] = {}
        self.request_log: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._faults: list[_ActiveFault] = []
        self._timed: list[tuple[float, ControlCommand]] = []
        self._tokens: dict[str, float] = {}
        self.resets_started: dict[str, int] = {"connection": 0, "gateway": 0}

    # -- time ---------------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def advance(self) -> None:
        """Apply every timed change that is due."""
        now = self.clock()
        due = [item for item in self._timed if item[0] <= now]
        if not due:
            return
        self._timed = [item for item in self._timed if item[0] > now]
        for _, command in sorted(due, key=lambda item: item[0]):
            self.apply(command)

    def schedule(self, delay_seconds: float, command: ControlCommand) -> None:
        self._timed.append((self.clock() + delay_seconds, command))

    def start_scenario(self, scenario: Scenario) -> None:
        """Queue a timeline; steps at 0 apply at once."""
        for step in scenario.steps:
            self.schedule(step.at, ControlCommand.model_validate(step.model_dump(exclude={"at"})))
        self.advance()

    # -- control ------------------------------------------------------------------------

    def apply(self, command: ControlCommand) -> None:
        if command.connection is not None:
            self._apply_connection(command.connection)
        if command.gateway is not None:
            self._apply_gateway(command.gateway)
        if command.clear_faults:
            self._faults.clear()
        if command.fault is not None:
            self._faults.append(_ActiveFault(spec=command.fault, remaining=command.fault.count))
        if command.reset_behavior is not None:
            self.reset_behavior[command.reset_behavior.target] = command.reset_behavior

    def _apply_connection(self, update: ConnectionUpdate) -> None:
        if update.status is not None:
            self._set_status(update.status)
        if update.tunnels is not None:
            by_name = {t.name: t for t in self.tunnels}
            for tu in update.tunnels:
                tunnel = by_name.get(tu.name)
                if tunnel is None:
                    tunnel = Tunnel(name=tu.name, status=ConnectionStatus.NOT_CONNECTED)
                    self.tunnels.append(tunnel)
                    by_name[tu.name] = tunnel
                if tu.status is not None:
                    self._set_tunnel_status(tunnel, tu.status)
                if tu.ingress_bytes is not None:
                    tunnel.ingress_bytes = tu.ingress_bytes
                if tu.egress_bytes is not None:
                    tunnel.egress_bytes = tu.egress_bytes
        if update.ingress_bytes is not None:
            self.ingress_bytes = update.ingress_bytes
        if update.egress_bytes is not None:
            self.egress_bytes = update.egress_bytes
        if update.bytes_per_read is not None:
            self.bytes_per_read = update.bytes_per_read

    def _apply_gateway(self, update: GatewayUpdate) -> None:
        self.gateway_state = update.provisioning_state

    def _set_status(self, status: ConnectionStatus) -> None:
        self.connection_status = status
        for tunnel in self.tunnels:
            self._set_tunnel_status(tunnel, status)

    def _set_tunnel_status(self, tunnel: Tunnel, status: ConnectionStatus) -> None:
        if status is ConnectionStatus.CONNECTED and tunnel.status is not ConnectionStatus.CONNECTED:
            tunnel.last_established = _utc_stamp(self._wall())
        tunnel.status = status

    # -- faults -------------------------------------------------------------------------

    def take_fault(self, operation: Operation) -> FaultDecision | None:
        """Consume one matching fault for this request, if any is armed."""
        for fault in self._faults:
            ops = fault.spec.operations
            if ops is None and operation is Operation.TOKEN:
                continue
            if ops is not None and operation not in ops:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
            return FaultDecision(fault.spec.status, fault.spec.retry_after, fault.spec.hang_seconds)
        return None

    def faults_armed(self) -> list[dict[str, Any]]:
        return [
            {**f.spec.model_dump(mode="json", by_alias=True, exclude_none=True), "remaining": f.remaining}
            for f in self._faults
        ]

    # -- reads --------------------------------------------------------------------------

    def read_connection(self) -> None:
        """A GET of the connection: traffic flows while the link is up."""
        if self.connection_status is ConnectionStatus.CONNECTED and self.bytes_per_read:
            self.ingress_bytes += self.bytes_per_read
            self.egress_bytes += self.bytes_per_read
            up = [t for t in self.tunnels if t.status is ConnectionStatus.CONNECTED]
            for tunnel in up:
                tunnel.ingress_bytes += self.bytes_per_read // len(up)
                tunnel.egress_bytes += self.bytes_per_read // len(up)

    # -- resets (long-running operations) -------------------------------------------------

    def start_reset(self, target: str) -> PendingOperation:
        behavior = self.reset_behavior[target]
        op = PendingOperation(
            op_id=str(uuid.uuid4()), target=target, polls_left=behavior.polls, behavior=behavior
        )
        self.operations[op.op_id] = op
        self.resets_started[target] += 1
        if target == "gateway":
            self.gateway_state = ProvisioningState.UPDATING
        return op

    def poll_operation(self, op_id: str) -> PendingOperation | None:
        op = self.operations.get(op_id)
        if op is None or op.finished:
            return op
        if op.polls_left > 0:
            op.polls_left -= 1
            return op
        op.finished = True
        op.succeeded = op.behavior.result == "succeed"
        self._complete(op)
        return op

    def _complete(self, op: PendingOperation) -> None:
        if op.target == "gateway":
            self.gateway_state = ProvisioningState.SUCCEEDED
        if not op.succeeded or op.behavior.restore_after_seconds is None:
            return
        self._set_status(ConnectionStatus.CONNECTING)
        self.schedule(
            op.behavior.restore_after_seconds,
            ControlCommand(connection=ConnectionUpdate(status=ConnectionStatus.CONNECTED)),
        )
        self.advance()

    # -- tokens -------------------------------------------------------------------------

    def issue_token(self, audience: str = ARM_AUDIENCE) -> tuple[str, int]:
        # A JWT shaped like Entra ID's (issuer, audience, lifetime), so services that read the
        # claims (Azurite's OAuth check of Table Storage tokens) accept it. It is signed with a
        # key only this simulator knows; ARM requests are checked against the issued set.
        now = int(self._wall())
        expires_on = now + TOKEN_LIFETIME_SECONDS
        claims = {
            "iss": f"https://sts.windows.net/{self.config.tenant_id}/",
            "aud": audience,
            "tid": self.config.tenant_id,
            "appid": self.config.client_id,
            "iat": now,
            "nbf": now - 60,
            "exp": expires_on,
            "jti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(claims, self._signing_key, algorithm="HS256")
        self._tokens[token] = expires_on
        return token, expires_on

    def token_valid(self, token: str) -> bool:
        expires_on = self._tokens.get(token)
        return expires_on is not None and expires_on > self._wall()

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    # -- log ----------------------------------------------------------------------------

    def record(self, method: str, path: str, operation: str, status: int, api_version: str) -> None:
        self.request_log.append(RequestRecord(self._wall(), method, path, operation, status, api_version))

    # -- views --------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The control API's view of the state (no credentials)."""
        return {
            "connectionStatus": self.connection_status.value,
            "tunnels": [
                {
                    "name": t.name,
                    "status": t.status.value,
                    "ingressBytes": t.ingress_bytes,
                    "egressBytes": t.egress_bytes,
                }
                for t in self.tunnels
            ],
            "ingressBytes": self.ingress_bytes,
            "egressBytes": self.egress_bytes,
            "gatewayProvisioningState": self.gateway_state.value,
            "faults": self.faults_armed(),
            "resetBehavior": {
                k: v.model_dump(mode="json", by_alias=True, exclude_none=True)
                for k, v in self.reset_behavior.items()
            },
            "resetsStarted": dict(self.resets_started),
            "pendingTimedChanges": len(self._timed),
        }
