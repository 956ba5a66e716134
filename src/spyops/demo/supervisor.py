"""Start local processes in order, wait until each is ready, stop them all in reverse.

Every child runs in its own session (so a SIGTERM/SIGKILL to its process group also reaches
anything it spawned) and gets PR_SET_PDEATHSIG, so the kernel kills it if the demo itself dies
without cleaning up. Pids are recorded in ``<state_dir>/demo.json`` for `spyops demo` to find a
previous run and for tests to check that nothing was left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

_PR_SET_PDEATHSIG = 1
STATE_FILE = "demo.json"


class DemoError(RuntimeError):
    """Something the demo needs did not start or stopped; the message says what and where to look."""


def _die_with_parent() -> None:
    # Between fork and exec: SIGKILL this child when the demo process dies.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass(frozen=True)
class ProcessSpec:
    """One local process. ``stands_in_for`` names the Kubernetes object it plays (or '')."""

    name: str
    argv: tuple[str, ...]
    ready_url: str = ""  # HTTP URL answering 200 when ready; '' = started is ready
    env: dict[str, str] = field(default_factory=dict)
    stands_in_for: str = ""
    ready_timeout: float = 90.0


@dataclass
class Running:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    log: Path


def tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state is the first field after the parenthesised command name.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_group(pid: int, process: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL whatever is left after ``timeout``."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        if not pid_alive(pid) and not _group_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Members may be zombies waiting for their (dead) parent to be reaped by init.
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


class Supervisor:
    """Owns the demo's local processes and its state file."""

    def __init__(self, state_dir: Path, say: Callable[[str], None]) -> None:
        self.state_dir = state_dir
        self.log_dir = state_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._say = say
        self.running: list[Running] = []
        self.extra_pids: list[dict[str, Any]] = []  # processes started by others (the control plane)
        self.info: dict[str, Any] = {}

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    def save(self) -> None:
        record = {
            "pid": os.getpid(),
            "processes": [
                {
                    "name": r.spec.name,
                    "pid": r.process.pid,
                    "log": str(r.log),
                    "standsInFor": r.spec.stands_in_for,
                }
                for r in self.running
            ]
            + self.extra_pids,
            **self.info,
        }
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=2))
        os.replace(tmp, self.state_file)

    def start(self, spec: ProcessSpec) -> Running:
        log = self.log_dir / f"{spec.name}.log"
        with log.open("ab") as sink:
            process = subprocess.Popen(
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **spec.env},
                cwd=self.state_dir,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        running = Running(spec, process, log)
        self.running.append(running)
        self.save()
        if spec.ready_url:
            self._wait_ready(running)
        else:
            time.sleep(0.3)
            self._check(running)
        return running

    def _check(self, running: Running) -> None:
        code = running.process.poll()
        if code is not None:
            raise DemoError(
                f"{running.spec.name} exited with code {code} during start-up; "
                f"last lines of {running.log}:\n{tail(running.log)}"
            )

    def _wait_ready(self, running: Running) -> None:
        deadline = time.monotonic() + running.spec.ready_timeout
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                self._check(running)
                try:
                    response = http.get(running.spec.ready_url)
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = str(exc) or type(exc).__name__
                time.sleep(0.25)
        raise DemoError(
            f"{running.spec.name} did not become ready at {running.spec.ready_url} within "
            f"{running.spec.ready_timeout:.0f}s ({last}); last lines of {running.log}:\n{tail(running.log)}"
        )

    def exited(self) -> list[Running]:
        """Processes that stopped on their own."""
        return [r for r in self.running if r.process.poll() is not None]

    def stop_all(self) -> None:
        """Newest first: SIGTERM to each process group, SIGKILL after 10 s."""
        for running in reversed(self.running):
            if running.process.poll() is None or _group_alive(running.process.pid):
                self._say(f"  stopping {running.spec.name} (pid {running.process.pid})")
            stop_group(running.process.pid, running.process)
        self.save()
