"""Hot reload of the mounted runtime config (the ConfigMap the operator renders).

The kubelet updates a ConfigMap volume by writing a new timestamped directory and
swapping the ``..data`` symlink, so the file's inode, mtime and resolved path all
change at once; an editor or a test may instead rewrite the file in place. We poll
the resolved path, mtime and size cheaply and re-read the content only when one
of them changed, then compare a content hash, so both ways are seen within one
poll interval. An invalid new file is logged and counted, and the old config stays
in force: a typo in a CR never drops the risk limits.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from spyops.schemas import RuntimeConfig, RuntimeConfigError, load_runtime_config

log = logging.getLogger(__name__)


class ConfigWatcher:
    def __init__(
        self,
        path: Path,
        initial: RuntimeConfig,
        on_change: Callable[[RuntimeConfig, RuntimeConfig], None],
        *,
        interval: float = 0.25,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self.current = initial
        self._on_change = on_change
        self._on_error = on_error
        self.interval = interval
        self._stamp = self._file_stamp()
        self._digest = self._content_digest()
        self.reloads = 0
        self.errors = 0
        self.last_error = ""

    def _file_stamp(self) -> tuple[str, int, int, int] | None:
        try:
            resolved = os.path.realpath(self.path)
            st = os.stat(resolved)
        except OSError:
            return None
        return (resolved, st.st_ino, st.st_mtime_ns, st.st_size)

    def _content_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def poll(self) -> bool:
        """Check once; True when a new, valid config was applied."""
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        digest = self._content_digest()
        if digest is None or digest == self._digest:
            return False
        try:
            new = load_runtime_config(self.path)
        except RuntimeConfigError as exc:
            # Remember the digest so the same bad file is reported once, not every poll.
            self._digest = digest
            self.errors += 1
            self.last_error = str(exc)
            log.error("new runtime config rejected; keeping the previous one", extra={"error": str(exc)})
            if self._on_error is not None:
                self._on_error(str(exc))
            return False
        self._digest = digest
        old, self.current = self.current, new
        self.reloads += 1
        self.last_error = ""
        log.info(
            "runtime config reloaded",
            extra={"trading_state": new.trading_state.value, "path": str(self.path)},
        )
        self._on_change(old, new)
        return True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.poll()
