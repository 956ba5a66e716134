"""Hot reload of the mounted runtime config for the detector.

The kubelet updates a ConfigMap volume by writing a new directory and swapping the
``..data`` symlink, so the resolved path, inode and mtime change at once; an editor or a
test may rewrite the file in place instead. Each poll compares a cheap stamp and, when it
moved, a content hash, so both ways are seen within one interval. A new file is applied
only if it is a valid runtime config *and* valid detector settings (known rule names);
otherwise it is logged and counted once and the previous config stays in force.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from spyops.detector.rules import ScanParams
from spyops.schemas import RuntimeConfig, RuntimeConfigError, load_runtime_config

log = logging.getLogger("spyops.detector.config")


class DetectorConfigError(ValueError):
    """The runtime config cannot drive the detector; the message names the file and field."""


def load_detector_config(path: Path) -> tuple[RuntimeConfig, ScanParams]:
    """Read and validate the runtime config and the detector's scan parameters."""
    try:
        config = load_runtime_config(path)
    except RuntimeConfigError as exc:
        raise DetectorConfigError(str(exc)) from exc
    try:
        params = ScanParams.from_settings(config.detector)
    except ValueError as exc:
        raise DetectorConfigError(f"{path}: invalid runtime config: detector.rules: {exc}") from exc
    return config, params


class ConfigWatcher:
    """Call :meth:`poll` periodically; ``on_change(old, new, params)`` runs for each valid change."""

    def __init__(
        self,
        path: Path,
        current: RuntimeConfig,
        on_change: Callable[[RuntimeConfig, RuntimeConfig, ScanParams], None],
        on_error: Callable[[str], None],
    ) -> None:
        self.path = path
        self.current = current
        self._on_change = on_change
        self._on_error = on_error
        self._stamp = self._file_stamp()
        self._digest = self._content_digest()
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
        # Remember the digest either way: the same bad file is reported once, not every poll.
        self._digest = digest
        try:
            new, params = load_detector_config(self.path)
        except DetectorConfigError as exc:
            self.last_error = str(exc)
            log.error("new runtime config rejected; keeping the previous one", extra={"error": str(exc)})
            self._on_error(str(exc))
            return False
        old, self.current = self.current, new
        self.last_error = ""
        log.info("runtime config reloaded", extra={"path": str(self.path)})
        self._on_change(old, new, params)
        return True
