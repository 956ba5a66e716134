"""Reading and resetting the Azure VPN connection and gateway through azure-mgmt-network.

Every Azure failure becomes an :class:`AzureError` with a CamelCase ``reason`` (the
condition reason the controller writes) and a message meant for people; messages
never carry credential material (known secret values are scrubbed as a second line
of defence, in case a server ever echoes one back).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any, TypeVar

from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import (
    AzureError as SdkAzureError,
)
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.mgmt.network.aio import NetworkManagementClient

from spyops.common.retry import retry_after_from
from spyops.operator.vpnlink.model import AzureRef, SecretRef

log = logging.getLogger("spyops.operator.vpnlink.azure")

PUBLIC_ARM_SCOPE = "https://management.azure.com/.default"
_MAX_SERVER_MESSAGE = 300

T = TypeVar("T")


class AzureErrorReason(StrEnum):
    AUTH_FAILED = "AzureAuthFailed"
    FORBIDDEN = "AzureForbidden"
    NOT_FOUND = "AzureNotFound"
    THROTTLED = "AzureThrottled"
    SERVER_ERROR = "AzureServerError"
    TIMEOUT = "AzureTimeout"
    UNREACHABLE = "AzureUnreachable"
    REQUEST_REJECTED = "AzureRequestRejected"
    OPERATION_FAILED = "AzureOperationFailed"
    CREDENTIALS_INVALID = "AzureCredentialsInvalid"


@dataclass(frozen=True)
class AzureError:
    reason: AzureErrorReason
    message: str
    http_status: int | None = None
    code: str = ""
    retry_after_seconds: float | None = None


class CredentialsError(ValueError):
    """The credentials Secret lacks a key or has an empty value; names the key, never the value."""


@dataclass(frozen=True)
class ServicePrincipal:
    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)


def service_principal_from_secret(ref: SecretRef, values: Mapping[str, str]) -> ServicePrincipal:
    """Build the principal from a Secret's decoded ``data`` (key -> text)."""
    found: dict[str, str] = {}
    for role, key in (
        ("tenant id", ref.tenant_id_key),
        ("client id", ref.client_id_key),
        ("client secret", ref.client_secret_key),
    ):
        value = values.get(key, "")
        if not value.strip():
            raise CredentialsError(f"Secret {ref.name!r} has no non-empty key {key!r} (the {role})")
        found[role] = value.strip()
    return ServicePrincipal(found["tenant id"], found["client id"], found["client secret"])


@dataclass(frozen=True)
class AzureClientSettings:
    """Transport and polling knobs; operator-wide, not per VpnLink."""

    connection_verify: bool | str = True  # a CA bundle path to trust a private endpoint
    polling_interval: float = 30.0  # seconds between LRO polls when the service gives no Retry-After
    # The controller's timer is the retry loop (and a throttled read stretches the next check to
    # Retry-After); SDK-level retries would sleep through Retry-After inside one check.
    retry_total: int = 0
    connection_timeout: float = 10.0
    read_timeout: float = 30.0
    read_deadline: float = 90.0  # whole read (both GETs, retries included)
    reset_deadline: float = 900.0  # whole reset LRO


def arm_scope(azure: AzureRef) -> str:
    if azure.endpoint:
        return azure.endpoint.rstrip("/") + "/.default"
    return PUBLIC_ARM_SCOPE


def build_credential(
    azure: AzureRef, principal: ServicePrincipal | None, settings: AzureClientSettings
) -> AsyncTokenCredential:
    """Service principal from the Secret, else the pod's workload identity or managed identity."""
    from azure.identity.aio import (
        ClientSecretCredential,
        ManagedIdentityCredential,
        WorkloadIdentityCredential,
    )

    if principal is not None:
        kwargs: dict[str, Any] = {"connection_verify": settings.connection_verify}
        if azure.authority_host:
            # A private or sovereign authority: MSAL must not ask login.microsoftonline.com about it.
            kwargs.update(authority=azure.authority_host, disable_instance_discovery=True)
        return ClientSecretCredential(
            principal.tenant_id, principal.client_id, principal.client_secret, **kwargs
        )
    if not azure.use_managed_identity:
        raise CredentialsError("no credentials: set credentialsSecretRef or useManagedIdentity")
    if os.environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        # AKS workload identity: the webhook injects the token file, client id, tenant and authority.
        return WorkloadIdentityCredential(connection_verify=settings.connection_verify)
    client_id = os.environ.get("AZURE_CLIENT_ID") or None
    return ManagedIdentityCredential(client_id=client_id, connection_verify=settings.connection_verify)


# --------------------------------------------------------------------------------------
# observations


@dataclass(frozen=True)
class TunnelObservation:
    name: str
    connection_status: str
    ingress_bytes: int
    egress_bytes: int
    last_connection_established: str


@dataclass(frozen=True)
class ConnectionObservation:
    connection_status: str  # Connected | Connecting | NotConnected | Unknown
    provisioning_state: str
    ingress_bytes: int
    egress_bytes: int
    tunnels: tuple[TunnelObservation, ...]


@dataclass(frozen=True)
class GatewayObservation:
    provisioning_state: str  # Succeeded | Updating | Failed | ...
    active_active: bool


@dataclass(frozen=True)
class AzureObservation:
    """One read. ``error`` is set when either resource could not be read."""

    connection: ConnectionObservation | None
    gateway: GatewayObservation | None
    error: AzureError | None = None


@dataclass(frozen=True)
class OperationOutcome:
    ok: bool
    message: str
    error: AzureError | None = None


def _text(value: object, default: str = "Unknown") -> str:
    if value is None:
        return default
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def connection_from_sdk(conn: Any) -> ConnectionObservation:
    tunnels = tuple(
        TunnelObservation(
            name=_text(t.tunnel, ""),
            connection_status=_text(t.connection_status),
            ingress_bytes=_int(t.ingress_bytes_transferred),
            egress_bytes=_int(t.egress_bytes_transferred),
            last_connection_established=_text(t.last_connection_established_utc_time, ""),
        )
        for t in (conn.tunnel_connection_status or [])
    )
    return ConnectionObservation(
        connection_status=_text(conn.connection_status),
        provisioning_state=_text(conn.provisioning_state),
        ingress_bytes=_int(conn.ingress_bytes_transferred),
        egress_bytes=_int(conn.egress_bytes_transferred),
        tunnels=tunnels,
    )


def gateway_from_sdk(gw: Any) -> GatewayObservation:
    props = getattr(gw, "properties", None)
    active = getattr(props, "active_active", None) if props is not None else None
    return GatewayObservation(provisioning_state=_text(gw.provisioning_state), active_active=bool(active))


# --------------------------------------------------------------------------------------
# errors


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def _retry_after(exc: HttpResponseError) -> float | None:
    response = exc.response
    if response is None:
        return None
    headers = getattr(response, "headers", None) or {}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):  # Azure's millisecond variants go first
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) / 1000)
        except ValueError:
            continue
    return retry_after_from(headers)  # seconds or an HTTP-date


def _server_detail(exc: HttpResponseError) -> tuple[str, str]:
    error = exc.error
    code = str(getattr(error, "code", "") or "")
    message = str(getattr(error, "message", "") or "")
    if not message:
        message = str(exc.reason or "")
    return code, message[:_MAX_SERVER_MESSAGE]


def classify_error(exc: BaseException, doing: str, secrets: Iterable[str] = ()) -> AzureError:
    """Map an SDK (or asyncio) exception to a typed error; ``doing`` says what was attempted."""
    secret_list = list(secrets)

    def done(
        reason: AzureErrorReason, what: str, status: int | None = None, code: str = "", **kw: Any
    ) -> AzureError:
        return AzureError(reason, scrub(f"{doing}: {what}", secret_list), status, code, **kw)

    if isinstance(exc, TimeoutError | ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return done(AzureErrorReason.TIMEOUT, "Azure did not answer in time")
    if isinstance(exc, ClientAuthenticationError) and not getattr(exc.error, "code", None):
        # Token acquisition failed (bad client secret, identity endpoint refused, ...): the
        # identity provider's message (e.g. "AADSTS7000215: Invalid client secret") is the useful part.
        text = (exc.message or str(exc) or type(exc).__name__).splitlines()[0][:_MAX_SERVER_MESSAGE]
        status = exc.status_code
        return done(AzureErrorReason.AUTH_FAILED, f"could not obtain an Azure token: {text}", status)
    if isinstance(exc, HttpResponseError) and exc.status_code is not None:
        status = exc.status_code
        code, message = _server_detail(exc)
        detail = f"(HTTP {status}{' ' + code if code else ''}) {message}".rstrip()
        if 200 <= status < 300:
            # The long-running operation itself reported Failed/Canceled.
            return done(AzureErrorReason.OPERATION_FAILED, f"the operation failed {detail}", status, code)
        if status == 401 or isinstance(exc, ClientAuthenticationError):
            return done(
                AzureErrorReason.AUTH_FAILED, f"Azure rejected the credentials {detail}", status, code
            )
        if status == 403:
            return done(
                AzureErrorReason.FORBIDDEN,
                f"the identity lacks permission (needs Network Contributor or a role with "
                f"Microsoft.Network/connections and virtualNetworkGateways read/reset) {detail}",
                status,
                code,
            )
        if status == 404 or isinstance(exc, ResourceNotFoundError):
            return done(
                AzureErrorReason.NOT_FOUND,
                f"not found: check subscriptionId, resourceGroup, gatewayName, connectionName {detail}",
                status,
                code,
            )
        if status == 429:
            retry_after = _retry_after(exc)
            hint = f"; retry after {retry_after:g} s" if retry_after is not None else ""
            return done(
                AzureErrorReason.THROTTLED,
                f"throttled by Azure {detail}{hint}",
                status,
                code,
                retry_after_seconds=retry_after,
            )
        if status >= 500:
            return done(AzureErrorReason.SERVER_ERROR, f"Azure server error {detail}", status, code)
        return done(AzureErrorReason.REQUEST_REJECTED, f"Azure rejected the request {detail}", status, code)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        inner = exc.inner_exception if exc.inner_exception is not None else exc
        text = str(inner)
        if "certificate" in text.lower() or "ssl" in type(inner).__name__.lower():
            return done(AzureErrorReason.UNREACHABLE, f"TLS to the Azure endpoint failed: {text[:200]}")
        return done(AzureErrorReason.UNREACHABLE, f"cannot reach the Azure endpoint: {text[:200]}")
    if isinstance(exc, CredentialsError):
        return done(AzureErrorReason.CREDENTIALS_INVALID, str(exc))
    if isinstance(exc, SdkAzureError):
        return done(
            AzureErrorReason.REQUEST_REJECTED, f"Azure SDK error: {type(exc).__name__}: {str(exc)[:200]}"
        )
    return done(AzureErrorReason.UNREACHABLE, f"unexpected error: {type(exc).__name__}")


# --------------------------------------------------------------------------------------
# client


class AzureLinkClient:
    """One VpnLink's view of Azure. Use as an async context manager."""

    def __init__(
        self,
        azure: AzureRef,
        credential: AsyncTokenCredential,
        settings: AzureClientSettings,
        secrets: Iterable[str] = (),
    ) -> None:
        self.azure = azure
        self.settings = settings
        self._credential = credential
        self._secrets = [s for s in secrets if s]
        kwargs: dict[str, Any] = {
            "polling_interval": settings.polling_interval,
            "retry_total": settings.retry_total,
            "connection_verify": settings.connection_verify,
            "connection_timeout": settings.connection_timeout,
            "read_timeout": settings.read_timeout,
            "credential_scopes": [arm_scope(azure)],
        }
        if azure.endpoint:
            kwargs["base_url"] = azure.endpoint.rstrip("/")
        self._client = NetworkManagementClient(credential, azure.subscription_id, **kwargs)

    async def __aenter__(self) -> AzureLinkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.close()
        await self._credential.close()

    async def _guarded(self, doing: str, deadline: float, call: Callable[[], Awaitable[T]]) -> T | AzureError:
        try:
            async with asyncio.timeout(deadline):
                return await call()
        except Exception as exc:  # every failure becomes a condition, never a crashed check
            error = classify_error(exc, doing, self._secrets)
            log.warning("azure call failed", extra={"reason": error.reason.value, "detail": error.message})
            return error

    async def read(self) -> AzureObservation:
        """Read the connection and the gateway (concurrently)."""
        a = self.azure
        conn_ops = self._client.virtual_network_gateway_connections
        gw_ops = self._client.virtual_network_gateways

        async def read_connection() -> ConnectionObservation:
            return connection_from_sdk(await conn_ops.get(a.resource_group, a.connection_name))

        async def read_gateway() -> GatewayObservation:
            return gateway_from_sdk(await gw_ops.get(a.resource_group, a.gateway_name))

        conn, gw = await asyncio.gather(
            self._guarded(
                f"reading connection {a.connection_name}", self.settings.read_deadline, read_connection
            ),
            self._guarded(f"reading gateway {a.gateway_name}", self.settings.read_deadline, read_gateway),
        )
        error = conn if isinstance(conn, AzureError) else gw if isinstance(gw, AzureError) else None
        return AzureObservation(
            connection=conn if isinstance(conn, ConnectionObservation) else None,
            gateway=gw if isinstance(gw, GatewayObservation) else None,
            error=error,
        )

    async def reset_connection(self) -> OperationOutcome:
        a = self.azure

        async def run() -> None:
            poller = await self._client.virtual_network_gateway_connections.begin_reset_connection(
                a.resource_group, a.connection_name
            )
            await poller.result()

        result = await self._guarded(
            f"resetting connection {a.connection_name}", self.settings.reset_deadline, run
        )
        if isinstance(result, AzureError):
            return OperationOutcome(False, result.message, result)
        return OperationOutcome(True, f"connection {a.connection_name} reset")

    async def reset_gateway(self) -> OperationOutcome:
        a = self.azure

        async def run() -> None:
            poller = await self._client.virtual_network_gateways.begin_reset(a.resource_group, a.gateway_name)
            await poller.result()

        result = await self._guarded(f"resetting gateway {a.gateway_name}", self.settings.reset_deadline, run)
        if isinstance(result, AzureError):
            return OperationOutcome(False, result.message, result)
        return OperationOutcome(True, f"gateway {a.gateway_name} reset")


def open_link_client(
    azure: AzureRef, secret_values: Mapping[str, str] | None, settings: AzureClientSettings
) -> AzureLinkClient:
    """Client for a VpnLink spec; raises :class:`CredentialsError` on a bad or missing Secret."""
    principal = None
    if azure.credentials_secret_ref is not None:
        if secret_values is None:
            raise CredentialsError(f"Secret {azure.credentials_secret_ref.name!r} was not found or is empty")
        principal = service_principal_from_secret(azure.credentials_secret_ref, secret_values)
    credential = build_credential(azure, principal, settings)
    secrets = [principal.client_secret] if principal else []
    return AzureLinkClient(azure, credential, settings, secrets)
