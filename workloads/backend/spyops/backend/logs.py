"""JSON-lines logging for the backend process: the shared format, with uvicorn and the Azure SDK
routed into it and kept quiet where they would be noisy or leak request details."""

from __future__ import annotations

import logging

from spyops.common.jsonlog import configure_json_logging


def configure_logging(level: str = "INFO") -> None:
    configure_json_logging("backend", level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # the metrics count requests
    logging.getLogger("azure").setLevel(logging.WARNING)  # the SDK logs request headers at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per SignalR request otherwise
