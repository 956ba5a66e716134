"""Choosing a store from the command line: ``sqlite:PATH``, ``table:ENV_VAR_NAME`` or ``table:URL``.

The Table Storage connection string is read from the named environment variable (filled from a
Secret), never from the command line, so it shows up in neither ``ps`` nor the pod spec.
``table:https://<account>.table.core.windows.net`` holds no secret at all: the backend signs in with
azure-identity's credential chain (on App Service, the app's managed identity; ``AZURE_CLIENT_ID``
picks a user-assigned one), which needs the Storage Table Data Contributor role on the account.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from spyops.backend.store.base import Store
from spyops.backend.store.sqlite import SqliteStore

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class StoreSpecError(ValueError):
    """The --store value is malformed; the message shows the accepted forms."""


def store_from_spec(
    spec: str, environ: Mapping[str, str] | None = None, *, table_prefix: str = "spyops"
) -> Store:
    env = os.environ if environ is None else environ
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise StoreSpecError(f"--store {spec!r}: expected sqlite:PATH, table:ENV_VAR_NAME or table:URL")
    if kind == "sqlite":
        return SqliteStore(rest)
    if kind == "table" and rest.startswith(("https://", "http://")):
        return _identity_store(rest, env, table_prefix)
    if kind == "table":
        if not _ENV_NAME.match(rest):
            raise StoreSpecError(
                f"--store table:{rest}: after 'table:' give the NAME of the environment variable that holds "
                "the connection string (not the connection string itself), or the https endpoint of the "
                "table service"
            )
        connection_string = env.get(rest, "").strip()
        if not connection_string:
            raise StoreSpecError(f"--store table:{rest}: the environment variable {rest} is empty or unset")
        from spyops.backend.store.table import TableStore

        return TableStore(connection_string, prefix=table_prefix, source=f"${rest}")
    raise StoreSpecError(
        f"--store {spec!r}: unknown store {kind!r}; expected sqlite:PATH, table:ENV_VAR_NAME or table:URL"
    )


def _identity_store(endpoint: str, env: Mapping[str, str], table_prefix: str) -> Store:
    parsed = urlsplit(endpoint)
    if parsed.scheme != "https" or not parsed.hostname or parsed.query or parsed.fragment:
        # Entra ID tokens are only ever sent over TLS (azure-core refuses plain http for them).
        raise StoreSpecError(
            f"--store table:{endpoint}: the table endpoint must be an https URL without query, "
            "e.g. table:https://myaccount.table.core.windows.net"
        )
    from azure.identity.aio import DefaultAzureCredential

    from spyops.backend.store.table import TableStore

    # Interactive and developer-tool credentials make no sense in a server; AZURE_CLIENT_ID selects
    # a user-assigned managed identity (DefaultAzureCredential reads it itself).
    credential = DefaultAzureCredential(
        exclude_interactive_browser_credential=True,
        exclude_visual_studio_code_credential=True,
        managed_identity_client_id=env.get("AZURE_CLIENT_ID") or None,
    )
    return TableStore(
        prefix=table_prefix,
        source=f"{endpoint} (azure-identity)",
        endpoint=endpoint,
        credential=credential,
    )
