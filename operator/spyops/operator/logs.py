"""The operator's logging: the shared JSON lines, with kopf's per-event chatter turned down."""

from __future__ import annotations

import logging

from spyops.common.jsonlog import configure_json_logging as configure_shared_json_logging


def configure_json_logging(level: str = "INFO") -> None:
    configure_shared_json_logging("operator", level)
    root_level = logging.getLogger().level
    # kopf is chatty at INFO for every handled event; its warnings and errors still come through.
    logging.getLogger("kopf").setLevel(max(logging.WARNING, root_level))
    for noisy in ("httpx", "httpx2", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
