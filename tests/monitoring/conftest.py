"""Fixtures for the monitoring tests: the pinned Prometheus/Alertmanager binaries and helm."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spyops.common.polling import wait_for
from spyops.toolchain.gobuild import GoBuildError
from spyops.toolchain.helm import ensure_helm
from spyops.toolchain.monitoring import ensure_monitoring_tools


@pytest.fixture(scope="session")
def monitoring_tools() -> dict[str, Path]:
    """prometheus, promtool, alertmanager, amtool: built from their Go modules (cached), or a loud failure."""
    try:
        return ensure_monitoring_tools()
    except GoBuildError as error:
        pytest.fail(f"the pinned Prometheus/Alertmanager build is needed (`make monitoring-tools`): {error}")


@pytest.fixture(scope="session")
def helm() -> Path:
    try:
        return ensure_helm()
    except GoBuildError as error:
        pytest.fail(f"helm is needed to render the chart (`make helm`): {error}")


def free_ports(count: int) -> list[int]:
    """Ports free right now (bound to 0 and released together, so they differ)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def wait_until(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """The demo tests' wait_for, with a process that does not answer yet counting as "not yet"."""

    def tolerant() -> Any:
        try:
            return check()
        except httpx.HTTPError:
            return None

    return wait_for(what, tolerant, timeout, interval)


@contextlib.contextmanager
def process(
    argv: list[str], log: Path, ready_url: str, timeout: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a process in its own group, wait for ready_url to answer 200, and stop the group afterwards."""
    with log.open("wb") as sink:
        proc = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{argv[0]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            return httpx.get(ready_url, timeout=2).status_code == 200

        wait_until(f"{Path(argv[0]).name} at {ready_url}", ready, timeout)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
