"""One `spyops operator` process for the benchmark: started, scraped, profiled, killed."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from spyops.cluster.controlplane import free_port
from spyops.common import metrics_text


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far (gone ones count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)
    return total


def loadavg() -> list[float]:
    """1, 5 and 15 minute load averages of this machine."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).is_file():
        raise BenchError(
            "py-spy is not installed next to this Python; run `make setup` (it is a dev dependency)"
        )
    return found


def spawn_operator(
    kubeconfig: Path,
    namespace: str,
    identity: str,
    port: int,
    log: Path,
    extra: Sequence[str] = (),
    launcher: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """`spyops operator` watching ``namespace`` out of cluster, /metrics on 127.0.0.1:``port`` (0: any).

    Output is appended to ``log``; ``launcher`` prefixes the command (e.g. `ip netns exec NAME`).
    """
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), PYTHONUNBUFFERED="1")
    env.pop("POD_NAMESPACE", None)  # set inside a pod: out of cluster it would pick the wrong namespace
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                *launcher,
                sys.executable,
                "-m",
                "spyops",
                "operator",
                "--namespace",
                namespace,
                "--kubeconfig",
                str(kubeconfig),
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(port),
                "--identity",
                identity,
                *extra,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )


class OperatorRun:
    def __init__(
        self, kubeconfig: Path, namespace: str, identity: str, log_dir: Path, extra: tuple[str, ...] = ()
    ) -> None:
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.identity = identity
        self.log = log_dir / f"operator-{identity}.log"
        self.extra = extra
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._profiler: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> OperatorRun:
        self.process = spawn_operator(
            self.kubeconfig,
            self.namespace,
            self.identity,
            self.port,
            self.log,
            extra=("--log-level", "WARNING", *self.extra),
        )
        self.started_at = time.monotonic()
        return self

    def _check(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise BenchError(f"operator {self.identity} exited with {self.process.returncode}:\n{tail}")

    def ready(self) -> dict[str, Any] | None:
        """/ready's JSON, or None while it does not answer."""
        self._check()
        try:
            answer: dict[str, Any] = httpx.get(f"http://127.0.0.1:{self.port}/ready", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        return answer

    def metric(self, name: str, labels: dict[str, str]) -> float:
        """The sample ``name{labels}`` on /metrics (0 while the series does not exist yet)."""
        self._check()
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        return metrics_text.value(text, name, labels) or 0.0

    def profile(self, out: Path) -> None:
        """Sample this process with py-spy (collapsed stacks) until stop_profile()."""
        self._profiler = subprocess.Popen(
            [
                py_spy(),
                "record",
                # Pausing the process at every sample (py-spy's default) slowed the operator by more
                # than it measured on a loaded machine; unpaused stacks are rarely torn.
                "--nonblocking",
                "--pid",
                str(self.pid),
                "--format",
                "raw",
                "--rate",
                "50",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop_profile(self) -> None:
        if self._profiler is None:
            return
        self._profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            _, err = self._profiler.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self._profiler.kill()
            raise BenchError("py-spy did not finish writing its profile within 60 s") from None
        if self._profiler.returncode not in (0, -signal.SIGINT):
            raise BenchError(
                f"py-spy failed ({self._profiler.returncode}): {err.decode(errors='replace')[-500:]}"
            )
        self._profiler = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self._profiler is not None:
            with contextlib.suppress(BenchError):
                self.stop_profile()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
