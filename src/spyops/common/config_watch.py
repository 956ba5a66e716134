"""Hot reload of a ConfigMap-mounted config file, for every process that has one.

The kubelet updates a ConfigMap volume by writing a new timestamped directory and
swapping the ``..data`` symlink atomically, so the file's resolved path, inode and
mtime all change at once; an editor or a test may instead rewrite the file in place.
Each poll compares a cheap stamp of the *resolved* file (path, inode, mtime, size)
and, only when it moved, a content hash, so both ways are seen within one poll
interval and a touched but unchanged file does nothing.

The caller's ``parse`` validates the new file. A ``ValueError`` from it (the schema
errors are ValueErrors that name the file and field) rejects the file: the message is
logged, counted and handed to ``on_error`` (where the caller bumps its metric) and the
last good config stays in force, so a typo in a CR never drops the risk limits. The
same bad file is reported once, not on every poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger("spyops.config")

T = TypeVar("T")

# (resolved path, inode, mtime in ns, size) of the real file behind the mount's symlinks
FileStamp = tuple[str, int, int, int]


def file_stamp(path: Path) -> FileStamp | None:
    """The stamp of the file ``path`` resolves to, or None when it cannot be read."""
    try:
        resolved = os.path.realpath(path)
        st = os.stat(resolved)
    except OSError:
        return None
    return (resolved, st.st_ino, st.st_mtime_ns, st.st_size)


def content_digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ConfigWatcher(Generic[T]):
    """Call :meth:`poll` (or run :meth:`run`); ``on_change(old, new)`` runs for each valid change."""

    def __init__(
        self,
        path: Path,
        initial: T,
        parse: Callable[[Path], T],
        on_change: Callable[[T, T], None],
        *,
        on_error: Callable[[str], None] | None = None,
        interval: float = 0.25,
    ) -> None:
        self.path = path
        self.current = initial
        self.interval = interval
        self._parse = parse
        self._on_change = on_change
        self._on_error = on_error
        self._stamp = file_stamp(path)
        self._digest = content_digest(path)
        self.reloads = 0
        self.errors = 0
        self.last_error = ""

    def poll(self) -> bool:
        """Check once; True when a new, valid config was applied."""
        stamp = file_stamp(self.path)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        digest = content_digest(self.path)
        if digest is None or digest == self._digest:
            return False  # vanished mid-swap or same bytes: keep the current config
        # Remember the digest either way: the same bad file is reported once, not every poll.
        self._digest = digest
        try:
            new = self._parse(self.path)
        except ValueError as exc:
            self.errors += 1
            self.last_error = str(exc)
            log.error("new config rejected; keeping the previous one", extra={"error": str(exc)})
            if self._on_error is not None:
                self._on_error(str(exc))
            return False
        old, self.current = self.current, new
        self.reloads += 1
        self.last_error = ""
        log.info("config reloaded", extra={"path": str(self.path)})
        self._on_change(old, new)
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.poll()
