"""The store's failure contract: when the store is down, `ping` raises StoreError (never another
exception, never success), reads and writes raise StoreError, and the API answers 503 on /ready
and on reads, without leaking a credential. Run against SQLite and against a real Azurite that the
test stops."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx
import pytest

from spyops.backend.app import create_app
from spyops.backend.azurite import ACCOUNT_KEY, running_azurite
from spyops.backend.store import HistoryQuery, Store, StoreError
from spyops.backend.store.sqlite import SqliteStore
from spyops.backend.store.table import TableStore
from tests.backend.conftest import TOKEN
from tests.backend.records import make_signal
from tests.backend.server import serving


async def assert_down(store: Store, *, within: float) -> None:
    """Every operation of a store that is down raises StoreError, promptly."""
    started = time.monotonic()
    with pytest.raises(StoreError):
        await store.ping()
    with pytest.raises(StoreError):
        await store.put_signals([make_signal(1)])
    with pytest.raises(StoreError):
        await store.list_signals(HistoryQuery())
    assert time.monotonic() - started < within, "a down store must be reported, not waited on"


async def test_sqlite_ping_raises_before_open_and_after_close(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "history.sqlite3")
    await assert_down(store, within=5)
    await store.open()
    await store.ping()
    await store.close()
    await assert_down(store, within=5)


async def test_sqlite_store_that_cannot_open_names_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")
    store = SqliteStore(blocker / "history.sqlite3")
    with pytest.raises(StoreError, match="not-a-directory"):
        await store.open()
    await assert_down(store, within=5)


async def test_table_store_ping_raises_when_azurite_stops() -> None:
    with running_azurite() as connection_string:
        store = TableStore(connection_string, prefix="down")
        await store.open()
        await store.ping()
        await store.put_signals([make_signal(1)])
    # Azurite is stopped now: the port refuses connections.
    try:
        try:
            await store.ping()
        except StoreError as exc:
            message = str(exc)
        else:
            pytest.fail("ping succeeded although Azurite is stopped")
        assert ACCOUNT_KEY not in message
        assert "table:" in message
        await assert_down(store, within=120)
    finally:
        await store.close()


async def test_api_answers_503_when_azurite_stops_under_it() -> None:
    azurite = contextlib.ExitStack()
    store = TableStore(azurite.enter_context(running_azurite()), prefix="apidown")
    try:
        async with (
            serving(create_app(store, TOKEN)) as base,
            httpx.AsyncClient(base_url=base, timeout=120) as http,
        ):
            assert (await http.get("/ready")).status_code == 200
            azurite.close()  # stops Azurite while the app keeps running
            await assert_api_down(http)
    finally:
        azurite.close()  # a no-op when already stopped


async def assert_api_down(http: httpx.AsyncClient) -> None:
    ready = await http.get("/ready")
    assert ready.status_code == 503, ready.text
    assert ready.json()["status"] == "unavailable"
    listing = await http.get("/v1/signals")
    assert listing.status_code == 503, listing.text
    assert listing.json() == {"detail": "the history store is unavailable"}
    assert ACCOUNT_KEY not in ready.text + listing.text
