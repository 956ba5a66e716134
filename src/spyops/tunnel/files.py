"""Writing the rendered files: atomically, and the secrets file never readable by others, not even briefly."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_file(path: Path, text: str, mode: int) -> None:
    """Create a temporary file with ``mode`` from the start, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; never widened beyond ``mode``
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
