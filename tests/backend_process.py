"""A real `spyops backend` process (sqlite store, bearer token) for tests of its clients."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackendProcess:
    def __init__(self, port: int, db: Path, token_file: Path, log: Path) -> None:
        self.port, self.db, self.token_file, self.log = port, db, token_file, log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != "SPYOPS_BACKEND_TOKEN"}
        with self.log.open("ab") as sink:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "spyops",
                "backend",
                "--port",
                str(self.port),
                "--store",
                f"sqlite:{self.db}",
                "--token-file",
                str(self.token_file),
                stdout=sink,
                stderr=sink,
                env=env,
            )
        async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(60):
            while True:
                assert self.process.returncode is None, self.log.read_text()[-3000:]
                try:
                    if (await client.get(self.url + "/ready")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
