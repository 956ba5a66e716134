"""HTTP layer of the simulator: the HTTPS ARM/identity endpoint and the plain-HTTP control API.

ARM paths are matched case-insensitively segment by segment (ARM treats resource
type segments and names case-insensitively); any ``api-version`` is accepted. The
request log keeps method, path, operation and status only: never headers, bodies,
tokens or the shared key.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from spyops.azuresim.commands import (
    ConnectionUpdate,
    ControlCommand,
    FaultSpec,
    GatewayUpdate,
    Operation,
    ResetBehavior,
    Scenario,
)
from spyops.azuresim.resources import FAULT_ERRORS, arm_error, connection_document, gateway_document
from spyops.azuresim.state import Clock, LinkSimulation, SimConfig
from spyops.common.certs import CertificateAuthority
from spyops.common.json_body import read_model

log = logging.getLogger("spyops.azuresim")

_SIM: web.AppKey[AzureSim] = web.AppKey("sim")


@dataclass(frozen=True)
class SimEndpoints:
    """Where the simulator listens; written to ``<state_dir>/endpoints.json``."""

    arm_url: str  # base_url for NetworkManagementClient (https)
    authority_url: str  # authority for ClientSecretCredential (https, same server)
    identity_endpoint: str  # IDENTITY_ENDPOINT for managed identity (plain http, like App Service)
    control_url: str  # control API (plain http)
    ca_cert: Path

    def to_json(self) -> dict[str, str]:
        return {
            "armUrl": self.arm_url,
            "authorityUrl": self.authority_url,
            "identityEndpoint": self.identity_endpoint,
            "controlUrl": self.control_url,
            "caCert": str(self.ca_cert),
        }


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class AzureSim:
    """The simulator: one :class:`LinkSimulation` behind two listeners."""

    def __init__(
        self,
        config: SimConfig | None = None,
        state_dir: Path | None = None,
        *,
        host: str = "127.0.0.1",
        arm_port: int = 0,
        control_port: int = 0,
        clock: Clock | None = None,
        tls_names: tuple[str, ...] = (),
    ) -> None:
        self.config = config or SimConfig()
        self.sim = LinkSimulation(self.config, clock=clock) if clock else LinkSimulation(self.config)
        self.state_dir = state_dir
        self.host = host
        self._arm_port = arm_port
        self._control_port = control_port
        self._tls_names = tuple(dict.fromkeys(("localhost", *tls_names)))
        self._runners: list[web.AppRunner] = []
        self.endpoints: SimEndpoints | None = None
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "azuresim_requests_total",
            "Requests served by the Azure simulator.",
            ["operation", "status"],
            registry=self.registry,
        )

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> SimEndpoints:
        if self.state_dir is None:
            raise ValueError("AzureSim needs a state_dir to write its certificates to")
        addresses = tuple(
            a for a in dict.fromkeys((self.host, "127.0.0.1", "::1")) if a not in ("0.0.0.0", "::")
        )
        # A fresh CA per start, 30 days; clients trust DIR/tls/ca.pem (the Azure SDK refuses plain http).
        ca = CertificateAuthority(
            self.state_dir / "tls",
            "spyops azure-sim CA",
            organization="spyops azure-sim",
            validity=dt.timedelta(days=30),
            cert_suffix=".pem",
            key_suffix="-key.pem",
        )
        serving = ca.issue(
            "server",
            self._tls_names[0],
            organization="spyops azure-sim",
            hosts=(*self._tls_names, *addresses),
        )
        arm_sock = _bind(self.host, self._arm_port)
        control_sock = _bind(self.host, self._control_port)
        arm_app = web.Application()
        arm_app[_SIM] = self
        arm_app.router.add_route("*", "/{tail:.*}", _arm_entry)
        control_app = web.Application()
        control_app[_SIM] = self
        _add_control_routes(control_app)
        for app, sock, ssl_context in (
            (arm_app, arm_sock, serving.server_context()),
            (control_app, control_sock, None),
        ):
            runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0)
            await runner.setup()
            await web.SockSite(runner, sock, ssl_context=ssl_context).start()
            self._runners.append(runner)
        host = _url_host(self.host)
        arm_port = arm_sock.getsockname()[1]
        control_port = control_sock.getsockname()[1]
        self.endpoints = SimEndpoints(
            arm_url=f"https://{host}:{arm_port}",
            authority_url=f"https://{host}:{arm_port}",
            identity_endpoint=f"http://{host}:{control_port}/msi/token",
            control_url=f"http://{host}:{control_port}",
            ca_cert=ca.ca.cert,
        )
        if self.state_dir is not None:
            self._write_state_files(self.endpoints)
        log.info("azure-sim listening", extra=self.endpoints.to_json())
        return self.endpoints

    def _write_state_files(self, endpoints: SimEndpoints) -> None:
        assert self.state_dir is not None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        c = self.config
        public = {
            **endpoints.to_json(),
            "subscriptionId": c.subscription_id,
            "resourceGroup": c.resource_group,
            "gatewayName": c.gateway_name,
            "connectionName": c.connection_name,
            "tenantId": c.tenant_id,
            "clientId": c.client_id,
        }
        (self.state_dir / "endpoints.json").write_text(json.dumps(public, indent=2), encoding="utf-8")
        # Credentials go to their own owner-only file, the way a Secret would be mounted.
        secret_path = self.state_dir / "credentials.json"
        fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "tenantId": c.tenant_id,
                    "clientId": c.client_id,
                    "clientSecret": c.client_secret,
                    "identityHeader": c.identity_header,
                    "federatedToken": c.federated_token,
                },
                handle,
            )

    async def stop(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> AzureSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- helpers ------------------------------------------------------------------------

    def count(self, operation: str, status: int) -> None:
        self._requests.labels(operation=operation, status=str(status)).inc()


# ---------------------------------------------------------------------------------------
# ARM endpoint (HTTPS)


@dataclass(frozen=True)
class _Route:
    operation: Operation
    names_ok: bool  # subscription / group / resource names match the simulated ones
    missing: str  # what was not found, for the 404 message
    op_id: str = ""
    tenant: str = ""


def _match(sim: LinkSimulation, method: str, path: str) -> _Route | None:
    parts = [p for p in path.split("/") if p]
    low = [p.lower() for p in parts]
    c = sim.config
    # /subscriptions/{sub}/providers/Microsoft.Network/locations/{loc}/(operations|operationResults)/{id}
    if (
        len(parts) == 8
        and low[0] == "subscriptions"
        and low[2] == "providers"
        and low[3] == "microsoft.network"
        and low[4] == "locations"
        and low[6] in ("operations", "operationresults")
        and method == "GET"
    ):
        op = Operation.OPERATION_STATUS if low[6] == "operations" else Operation.OPERATION_RESULT
        return _Route(op, parts[1].lower() == c.subscription_id.lower(), "operation", op_id=parts[7])
    if not (
        len(parts) >= 8
        and low[0] == "subscriptions"
        and low[2] == "resourcegroups"
        and low[4] == "providers"
        and low[5] == "microsoft.network"
    ):
        return None
    sub_ok = parts[1].lower() == c.subscription_id.lower()
    rg_ok = parts[3].lower() == c.resource_group.lower()
    kind, name, rest = low[6], parts[7], low[8:]
    if kind == "connections":
        name_ok = name.lower() == c.connection_name.lower()
        table = {
            ("GET", ()): Operation.GET_CONNECTION,
            ("POST", ("resetconnection",)): Operation.RESET_CONNECTION,
            ("GET", ("sharedkey",)): Operation.GET_SHARED_KEY,
        }
        missing = f"Microsoft.Network/connections/{name}"
    elif kind == "virtualnetworkgateways":
        name_ok = name.lower() == c.gateway_name.lower()
        table = {("GET", ()): Operation.GET_GATEWAY, ("POST", ("reset",)): Operation.RESET_GATEWAY}
        missing = f"Microsoft.Network/virtualNetworkGateways/{name}"
    else:
        return None
    operation = table.get((method, tuple(rest)))
    if operation is None:
        return None
    if not sub_ok:
        missing = f"subscription {parts[1]}"
    elif not rg_ok:
        missing = f"resource group {parts[3]}"
    return _Route(operation, sub_ok and rg_ok and name_ok, missing)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
        headers=headers,
    )


async def _arm_entry(request: web.Request) -> web.StreamResponse:
    server = request.app[_SIM]
    sim = server.sim
    sim.advance()
    api_version = request.query.get("api-version", "")
    path = request.path
    tenant_route = _match_identity(path, request.method)
    if tenant_route is not None:
        operation_name, response = await _identity_request(server, request, tenant_route)
    else:
        route = _match(sim, request.method, path)
        if route is None:
            operation_name = "unknown"
            response = _json(
                404,
                arm_error("InvalidResourceType", f"No route for {request.method} {path} in the simulator."),
            )
        else:
            operation_name = route.operation.value
            try:
                response = await _arm_request(server, request, route)
            except asyncio.CancelledError:
                # The client gave up while a hang fault held the request (nginx's 499).
                sim.record(request.method, path, operation_name, 499, api_version)
                server.count(operation_name, 499)
                raise
    sim.record(request.method, path, operation_name, response.status, api_version)
    server.count(operation_name, response.status)
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": path,
            "op": operation_name,
            "status": response.status,
        },
    )
    return response


async def _arm_request(server: AzureSim, request: web.Request, route: _Route) -> web.Response:
    sim = server.sim
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        return _json(
            401,
            arm_error(
                "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
            ),
        )
    if not sim.token_valid(auth.removeprefix("Bearer ").strip()):
        return _json(
            401,
            arm_error(
                "InvalidAuthenticationToken",
                "The access token is invalid: it was not issued by this endpoint.",
            ),
        )
    fault = sim.take_fault(route.operation)
    if fault is not None:
        if fault.hang_seconds is not None:
            await asyncio.sleep(fault.hang_seconds)
            sim.advance()
        if fault.status is not None:
            code, message = FAULT_ERRORS[fault.status]
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return _json(fault.status, arm_error(code, message), headers)
    if not route.names_ok:
        if route.operation in (Operation.OPERATION_STATUS, Operation.OPERATION_RESULT):
            return _json(404, arm_error("SubscriptionNotFound", f"The {route.missing} could not be found."))
        code = "ResourceGroupNotFound" if route.missing.startswith("resource group") else "ResourceNotFound"
        return _json(404, arm_error(code, f"The Resource '{route.missing}' was not found."))
    base = f"https://{request.host}"
    op = route.operation
    if op is Operation.GET_CONNECTION:
        sim.read_connection()
        return _json(200, connection_document(sim))
    if op is Operation.GET_GATEWAY:
        return _json(200, gateway_document(sim))
    if op is Operation.GET_SHARED_KEY:
        return _json(200, {"value": sim.config.shared_key})
    if op in (Operation.RESET_CONNECTION, Operation.RESET_GATEWAY):
        target = "connection" if op is Operation.RESET_CONNECTION else "gateway"
        started = sim.start_reset(target)
        c = sim.config
        ops = f"/subscriptions/{c.subscription_id}/providers/Microsoft.Network/locations/{c.location}"
        version = request.query.get("api-version", "2024-05-01")
        headers = {
            "Azure-AsyncOperation": f"{base}{ops}/operations/{started.op_id}?api-version={version}",
            "Retry-After": "0",
        }
        if started.behavior.location_header:
            headers["Location"] = f"{base}{ops}/operationResults/{started.op_id}?api-version={version}"
        return web.Response(status=202, headers=headers)
    if op is Operation.OPERATION_STATUS:
        pending = sim.poll_operation(route.op_id)
        if pending is None:
            return _json(404, arm_error("OperationNotFound", f"Operation {route.op_id} was not found."))
        if not pending.finished:
            return _json(200, {"status": "InProgress"})
        if pending.succeeded:
            return _json(200, {"status": "Succeeded"})
        return _json(
            200,
            {
                "status": "Failed",
                "error": {"code": pending.behavior.fail_code, "message": pending.behavior.fail_message},
            },
        )
    # OPERATION_RESULT
    pending = sim.operations.get(route.op_id)
    if pending is None:
        return _json(404, arm_error("OperationNotFound", f"Operation {route.op_id} was not found."))
    if not pending.finished:
        return web.Response(status=202, headers={"Retry-After": "0"})
    if pending.target == "gateway":
        return _json(200, gateway_document(sim))
    return web.Response(status=204)


# ---------------------------------------------------------------------------------------
# Identity: client-credentials flow (HTTPS, MSAL/azure-identity "authority") and the App
# Service managed-identity endpoint (plain HTTP, on the control listener).


def _match_identity(path: str, method: str) -> tuple[str, str] | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"] and method == "GET":
        return ("openid", parts[0])
    if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"] and method == "POST":
        return ("token", parts[0])
    if parts == ["msi", "token"] and method == "GET":
        return ("msi", "")
    return None


def _aad_error(status: int, error: str, description: str) -> web.Response:
    return _json(status, {"error": error, "error_description": description, "error_codes": []})


async def _identity_request(
    server: AzureSim, request: web.Request, route: tuple[str, str]
) -> tuple[str, web.Response]:
    sim = server.sim
    kind, tenant = route
    c = sim.config
    if kind == "msi":
        return "token", await _msi_token(server, request)
    if tenant.lower() not in (c.tenant_id.lower(), "organizations", "common"):
        return "token", _aad_error(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
    base = f"https://{request.host}/{tenant}"
    if kind == "openid":
        return "openid", _json(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            },
        )
    fault = sim.take_fault(Operation.TOKEN)
    if fault is not None and fault.status is not None:
        return "token", _aad_error(fault.status, "temporarily_unavailable", "AADSTS50196: simulated failure.")
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return "token", _aad_error(
            400, "unsupported_grant_type", "AADSTS70003: only client_credentials is served."
        )
    if form.get("client_id") != c.client_id:
        return "token", _aad_error(
            400, "unauthorized_client", "AADSTS700016: Application was not found in the directory."
        )
    if "client_assertion" in form:
        # Workload identity: the federated (projected service-account) token stands in for a secret.
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            return "token", _aad_error(
                400, "invalid_request", "AADSTS50027: unsupported client_assertion_type."
            )
        if form.get("client_assertion") != c.federated_token:
            return "token", _aad_error(
                401, "invalid_client", "AADSTS700211: No matching federated identity record found."
            )
    elif form.get("client_secret") != c.client_secret:
        return "token", _aad_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
    token, expires_on = sim.issue_token()
    del expires_on
    return "token", _json(
        200, {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}
    )


async def _msi_token(server: AzureSim, request: web.Request) -> web.Response:
    sim = server.sim
    if request.headers.get("X-IDENTITY-HEADER") != sim.config.identity_header:
        return _json(401, {"statusCode": 401, "message": "The X-IDENTITY-HEADER is missing or invalid."})
    resource = request.query.get("resource", "")
    if not resource:
        return _json(400, {"statusCode": 400, "message": "The 'resource' query parameter is required."})
    fault = sim.take_fault(Operation.TOKEN)
    if fault is not None and fault.status is not None:
        return _json(
            fault.status, {"statusCode": fault.status, "message": "Simulated identity endpoint failure."}
        )
    token, expires_on = sim.issue_token(audience=resource)
    return _json(
        200,
        {
            "access_token": token,
            "expires_on": str(expires_on),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": sim.config.client_id,
        },
    )


async def _msi_entry(request: web.Request) -> web.Response:
    server = request.app[_SIM]
    server.sim.advance()
    response = await _msi_token(server, request)
    server.sim.record(
        request.method, request.path, "token", response.status, request.query.get("api-version", "")
    )
    server.count("token", response.status)
    return response


# ---------------------------------------------------------------------------------------
# Control API (plain HTTP on loopback)


def _apply(request: web.Request, command: ControlCommand) -> web.Response:
    sim = request.app[_SIM].sim
    sim.advance()
    sim.apply(command)
    return _json(200, sim.snapshot())


def _add_control_routes(app: web.Application) -> None:
    routes = web.RouteTableDef()

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        return _json(200, {"status": "ok"})

    @routes.get("/ready")
    async def ready(request: web.Request) -> web.Response:
        return _json(200, {"status": "ready"})

    @routes.get("/metrics")
    async def metrics(request: web.Request) -> web.Response:
        body = generate_latest(request.app[_SIM].registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    @routes.get("/control/state")
    async def state(request: web.Request) -> web.Response:
        sim = request.app[_SIM].sim
        sim.advance()
        return _json(200, sim.snapshot())

    @routes.post("/control/command")
    async def command(request: web.Request) -> web.Response:
        return _apply(request, await read_model(request, ControlCommand))

    @routes.post("/control/connection")
    async def connection(request: web.Request) -> web.Response:
        return _apply(request, ControlCommand(connection=await read_model(request, ConnectionUpdate)))

    @routes.post("/control/gateway")
    async def gateway(request: web.Request) -> web.Response:
        return _apply(request, ControlCommand(gateway=await read_model(request, GatewayUpdate)))

    @routes.post("/control/faults")
    async def add_fault(request: web.Request) -> web.Response:
        return _apply(request, ControlCommand(fault=await read_model(request, FaultSpec)))

    @routes.delete("/control/faults")
    async def clear_faults(request: web.Request) -> web.Response:
        return _apply(request, ControlCommand(clear_faults=True))

    @routes.post("/control/reset-behavior")
    async def reset_behavior(request: web.Request) -> web.Response:
        return _apply(request, ControlCommand(reset_behavior=await read_model(request, ResetBehavior)))

    @routes.post("/control/scenario")
    async def scenario(request: web.Request) -> web.Response:
        parsed = await read_model(request, Scenario)
        sim = request.app[_SIM].sim
        sim.start_scenario(parsed)
        return _json(200, sim.snapshot())

    @routes.post("/control/revoke-tokens")
    async def revoke(request: web.Request) -> web.Response:
        request.app[_SIM].sim.revoke_tokens()
        return _json(200, {"revoked": True})

    @routes.get("/control/requests")
    async def requests_log(request: web.Request) -> web.Response:
        sim = request.app[_SIM].sim
        return _json(200, {"requests": [r.to_json() for r in sim.request_log]})

    @routes.delete("/control/requests")
    async def clear_requests(request: web.Request) -> web.Response:
        request.app[_SIM].sim.request_log.clear()
        return _json(200, {"requests": []})

    app.router.add_routes(routes)
    app.router.add_get("/msi/token", _msi_entry)
