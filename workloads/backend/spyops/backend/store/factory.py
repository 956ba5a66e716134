"""Choosing a store from the command line: ``sqlite:PATH`` or ``table:ENV_VAR_NAME``.

The Table Storage connection string is read from the named environment variable (filled from a
Secret), never from the command line, so it shows up in neither ``ps`` nor the pod spec.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

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
        raise StoreSpecError(f"--store {spec!r}: expected sqlite:PATH or table:ENV_VAR_NAME")
    if kind == "sqlite":
        return SqliteStore(rest)
    if kind == "table":
        if not _ENV_NAME.match(rest):
            raise StoreSpecError(
                f"--store table:{rest}: after 'table:' give the NAME of the environment variable that holds "
                "the connection string, not the connection string itself"
            )
        connection_string = env.get(rest, "").strip()
        if not connection_string:
            raise StoreSpecError(f"--store table:{rest}: the environment variable {rest} is empty or unset")
        from spyops.backend.store.table import TableStore

        return TableStore(connection_string, prefix=table_prefix, source=f"${rest}")
    raise StoreSpecError(
        f"--store {spec!r}: unknown store {kind!r}; expected sqlite:PATH or table:ENV_VAR_NAME"
    )
