"""History storage behind one interface: SQLite (default, and the edge's) and Azure Table Storage."""

from spyops.backend.store.base import (
    MAX_PAGE_SIZE,
    HistoryQuery,
    InvalidCursorError,
    Page,
    Store,
    StoreError,
    StoreLimitError,
    WriteResult,
)

__all__ = [
    "MAX_PAGE_SIZE",
    "HistoryQuery",
    "InvalidCursorError",
    "Page",
    "Store",
    "StoreError",
    "StoreLimitError",
    "WriteResult",
]
