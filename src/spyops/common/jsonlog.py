"""JSON-lines logging: one object per line with time, level, logger, message and extra fields."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any, TextIO

from spyops.common.tracing import log_fields

# Attributes every LogRecord has; anything else passed through `extra=` is a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": self.component,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Formatting runs in the logging call's context: a line written inside a span names it.
        entry.update(log_fields())
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at emit time, not the one at configure time.

    A command run in-process (a test's CLI runner swaps stderr, then closes its
    buffer) must not leave the root logger pointing at a closed stream.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_json_logging(component: str, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route all logging to ``stream`` (the current stderr by default) as JSON lines."""
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _CurrentStderrHandler()
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
