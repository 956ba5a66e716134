from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from spyops.backend.azurite import running_azurite
from spyops.backend.store import Store
from spyops.backend.store.sqlite import SqliteStore
from spyops.backend.store.table import TableStore

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="session")
def azurite() -> Iterator[str]:
    with running_azurite() as connection_string:
        yield connection_string


@pytest.fixture(params=["sqlite", "table"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """The same suite runs on both stores; each table test gets its own table prefix (isolation)."""
    if request.param == "sqlite":
        opened: Store = SqliteStore(tmp_path / "history.sqlite3")
    else:
        connection_string = request.getfixturevalue("azurite")
        opened = TableStore(connection_string, prefix="t" + uuid.uuid4().hex[:12])
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()
