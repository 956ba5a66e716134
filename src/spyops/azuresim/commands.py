"""The control commands that script the simulated link, shared by the control API and timelines.

A command body is JSON (or YAML in a timeline file) with camelCase fields; bad input
is refused with the field that was wrong.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class ConnectionStatus(StrEnum):
    """`connectionStatus` of a VirtualNetworkGatewayConnection (and of each tunnel)."""

    CONNECTED = "Connected"
    CONNECTING = "Connecting"
    NOT_CONNECTED = "NotConnected"
    UNKNOWN = "Unknown"


class ProvisioningState(StrEnum):
    SUCCEEDED = "Succeeded"
    UPDATING = "Updating"
    FAILED = "Failed"
    CANCELED = "Canceled"
    CREATING = "Creating"
    DELETING = "Deleting"


class Operation(StrEnum):
    """What a request to the simulator does; faults can target a subset."""

    GET_CONNECTION = "getConnection"
    GET_GATEWAY = "getGateway"
    RESET_CONNECTION = "resetConnection"
    RESET_GATEWAY = "resetGateway"
    GET_SHARED_KEY = "getSharedKey"
    OPERATION_STATUS = "operationStatus"
    OPERATION_RESULT = "operationResult"
    TOKEN = "token"  # noqa: S105 - an operation name, not a credential


class _Command(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class TunnelUpdate(_Command):
    name: str = Field(min_length=1, description="Tunnel name, as in tunnelConnectionStatus[].tunnel.")
    status: ConnectionStatus | None = None
    ingress_bytes: int | None = Field(default=None, ge=0)
    egress_bytes: int | None = Field(default=None, ge=0)


class ConnectionUpdate(_Command):
    """Change the connection. Setting ``status`` without ``tunnels`` moves every tunnel with it."""

    status: ConnectionStatus | None = None
    tunnels: list[TunnelUpdate] | None = None
    ingress_bytes: int | None = Field(default=None, ge=0)
    egress_bytes: int | None = Field(default=None, ge=0)
    bytes_per_read: int | None = Field(
        default=None, ge=0, description="Bytes added in each direction per read while Connected."
    )


class GatewayUpdate(_Command):
    provisioning_state: ProvisioningState


class FaultSpec(_Command):
    """Make the next ``count`` matching requests fail with ``status`` or hang for ``hang_seconds``."""

    status: Literal[400, 401, 403, 404, 409, 429, 500, 502, 503, 504] | None = None
    count: int = Field(default=1, ge=1, le=100_000)
    retry_after: int | None = Field(default=None, ge=0, le=3600, description="Retry-After header, seconds.")
    hang_seconds: float | None = Field(default=None, gt=0, le=3600)
    operations: list[Operation] | None = Field(
        default=None,
        description="Operations the fault applies to; absent = every ARM operation (not tokens).",
    )

    @model_validator(mode="after")
    def _status_or_hang(self) -> FaultSpec:
        if self.status is None and self.hang_seconds is None:
            raise ValueError("a fault needs a status or hangSeconds (or both)")
        return self


class ResetBehavior(_Command):
    """How the next resets of ``target`` behave (until changed)."""

    target: Literal["connection", "gateway"]
    result: Literal["succeed", "fail"] = "succeed"
    polls: int = Field(default=1, ge=0, le=1000, description="InProgress answers before the terminal status.")
    restore_after_seconds: float | None = Field(
        default=None,
        ge=0,
        description="After a successful reset the connection is Connecting and becomes Connected this much "
        "later; absent = the reset does not change the link's status.",
    )
    location_header: bool = Field(
        default=True,
        description="Send Location beside Azure-AsyncOperation on the 202 (the spec example sends only the latter).",
    )
    fail_code: str = Field(default="ResetFailed", min_length=1)
    fail_message: str = Field(default="The reset operation failed (simulated).", min_length=1)


class ControlCommand(_Command):
    """One step: any combination of changes, applied together in the order listed here."""

    connection: ConnectionUpdate | None = None
    gateway: GatewayUpdate | None = None
    clear_faults: bool = False
    fault: FaultSpec | None = None
    reset_behavior: ResetBehavior | None = None


class ScenarioStep(ControlCommand):
    at: float = Field(ge=0, description="Seconds after the scenario starts.")


class Scenario(_Command):
    steps: list[ScenarioStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Scenario:
        times = [s.at for s in self.steps]
        if times != sorted(times):
            raise ValueError("steps must be ordered by `at`")
        return self
