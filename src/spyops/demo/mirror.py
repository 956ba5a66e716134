"""The operator's rendered ConfigMap, mirrored to a local file the local processes read.

In a pod the kubelet projects the ConfigMap into ``/etc/spyops/config.json`` and swaps it
atomically when it changes. Here a thread polls the ConfigMap and does the same: it rewrites
``<dir>/config.json`` with ``os.replace`` whenever the rendered config changes, so the kill
switch and the outbound mode hot-reload in the local detector and bots exactly as in pods.
Only addresses that differ on this machine are rewritten (``localize``); everything else is
the operator's output byte for byte in meaning.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from spyops.schemas.runtime_config import CONFIG_FILE_NAME, RuntimeConfig


@dataclass(frozen=True)
class LocalAddresses:
    """Where the things a pod would reach by Service name listen on this machine."""

    gateway_host: str
    gateway_port: int
    detector_stream_url: str
    backend_token_file: str


@dataclass(frozen=True)
class Rewrite:
    field: str
    rendered: str
    local: str


def localize(config: RuntimeConfig, local: LocalAddresses) -> tuple[RuntimeConfig, list[Rewrite]]:
    """The same config with cluster addresses replaced by local ones; returns what changed."""
    rewrites: list[Rewrite] = []
    gateway = config.gateway
    rendered_gateway = f"{gateway.host}:{gateway.port}"
    local_gateway = f"{local.gateway_host}:{local.gateway_port}"
    if rendered_gateway != local_gateway:
        rewrites.append(Rewrite("gateway", rendered_gateway, local_gateway))
        gateway = gateway.model_copy(update={"host": local.gateway_host, "port": local.gateway_port})
    stream = config.detector_stream_url
    if stream and stream != local.detector_stream_url:
        rewrites.append(Rewrite("detector_stream_url", stream, local.detector_stream_url))
        stream = local.detector_stream_url
    outbound = config.outbound
    if outbound.token_file and outbound.token_file != local.backend_token_file:
        rewrites.append(Rewrite("outbound.token_file", outbound.token_file, local.backend_token_file))
        outbound = outbound.model_copy(update={"token_file": local.backend_token_file})
    localized = config.model_copy(
        update={"gateway": gateway, "detector_stream_url": stream, "outbound": outbound}
    )
    # Round-trip through validation so a bad rewrite fails here, not in a workload.
    return RuntimeConfig.model_validate(localized.model_dump()), rewrites


def detector_stream_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise ValueError(f"detector stream URL {url!r} has no host:port")
    return parts.hostname, parts.port


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ConfigMirror:
    """Keeps ``<directory>/config.json`` equal to the localized ConfigMap, polling every ``interval``."""

    def __init__(
        self,
        fetch: Callable[[], str | None],
        local: LocalAddresses,
        directory: Path,
        say: Callable[[str], None],
        interval: float = 0.5,
    ) -> None:
        self._fetch = fetch
        self._local = local
        self.directory = directory
        self._say = say
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_rendered: str | None = None
        self.rewrites: list[Rewrite] = []
        self.errors = 0

    @property
    def path(self) -> Path:
        return self.directory / CONFIG_FILE_NAME

    def sync_once(self) -> bool:
        """Fetch and, if the rendered config changed, rewrite the file. True when it was written."""
        rendered = self._fetch()
        if rendered is None or rendered == self._last_rendered:
            return False
        config = RuntimeConfig.model_validate(json.loads(rendered))
        localized, self.rewrites = localize(config, self._local)
        self.directory.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, localized.to_json())
        if self._last_rendered is not None:
            self._say(
                f"ConfigMap changed: rewrote {self.path} (tradingState={localized.trading_state.value}, "
                f"outbound={localized.outbound.mode.value})"
            )
        self._last_rendered = rendered
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="config-mirror", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sync_once()
            except Exception as exc:
                self.errors += 1
                if self.errors <= 3 or self.errors % 60 == 0:
                    self._say(f"config mirror: {type(exc).__name__}: {exc}")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
