"""What an environment renders, read from `tofu test -json -verbose` (a run against the mocked provider).

The verbose JSON log carries the plan (``test_plan``, for ``command = plan`` runs) or the state
(``test_state``, for ``command = apply`` runs) of each run block in Terraform's JSON formats;
these pure functions pull resource values out of it, and resolve Key Vault references the way
App Service does before it starts the container.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

KEY_VAULT_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(SecretUri=(?P<uri>https://[^)]+)\)$")


def log_messages(stdout: str) -> list[dict[str, Any]]:
    """The JSON lines `tofu test -json` printed (anything else on stdout is ignored)."""
    messages: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        if line.startswith("{"):
            messages.append(json.loads(line))
    return messages


def _walk(module: Mapping[str, Any]) -> Iterable[tuple[str, dict[str, Any]]]:
    for resource in module.get("resources", []):
        yield resource["address"], resource.get("values", {})
    for child in module.get("child_modules", []):
        yield from _walk(child)


def resources_of_run(messages: Iterable[Mapping[str, Any]], run: str) -> dict[str, dict[str, Any]]:
    """{resource address: values} of one run block, from its verbose plan or state."""
    for message in messages:
        if message.get("@testrun") != run:
            continue
        if message.get("type") == "test_state":
            return dict(_walk(message["test_state"]["values"]["root_module"]))
        if message.get("type") == "test_plan":
            return dict(_walk(message["test_plan"]["planned_values"]["root_module"]))
    raise LookupError(f"no verbose plan or state for run {run!r} in the tofu test log")


def resolve_key_vault_references(settings: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """App settings as the app sees them: each ``@Microsoft.KeyVault(SecretUri=...)`` replaced by
    the secret's value, looked up by its versionless URI (what App Service does at start)."""
    resolved: dict[str, str] = {}
    for name, value in settings.items():
        match = KEY_VAULT_REFERENCE.match(value)
        if match is None:
            resolved[name] = value
            continue
        uri = match.group("uri").rstrip("/")
        if uri not in secrets:
            raise KeyError(f"app setting {name} refers to {uri}, which holds no secret")
        resolved[name] = secrets[uri]
    return resolved
