"""Start and stop a local Azurite Table service (npm package pinned in tools/node), for the
store tests and the ingest benchmark. Not used in production."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

AZURITE_ENV = "SPYOPS_AZURITE_TABLE"


def find_azurite() -> Path | None:
    """$SPYOPS_AZURITE_TABLE, else tools/node's install in this checkout or the current directory's."""
    if os.environ.get(AZURITE_ENV):
        return Path(os.environ[AZURITE_ENV])
    relative = Path("tools") / "node" / "node_modules" / ".bin" / "azurite-table"
    for root in (Path(__file__).resolve().parents[4], Path.cwd()):
        if (root / relative).exists():
            return root / relative
    return None


ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def connection_string(port: int) -> str:
    # 127.0.0.1, not localhost: the SDK takes localhost on a port other than 10002 for Cosmos DB.
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_azurite() -> Iterator[str]:
    """Yield the connection string of a fresh in-memory Azurite Table service."""
    azurite_table = find_azurite()
    if azurite_table is None or not azurite_table.exists():
        raise RuntimeError("azurite-table is not installed: run `make node-tools` (npm ci in tools/node)")
    last_output = ""
    for _attempt in range(3):  # the free port can be taken between probing and Azurite's bind
        port = _free_port()
        with tempfile.TemporaryDirectory(prefix="azurite-") as workdir:
            log_path = Path(workdir) / "azurite.log"
            with log_path.open("wb") as log_file:
                process = subprocess.Popen(
                    [
                        str(azurite_table),
                        "--tableHost",
                        "127.0.0.1",
                        "--tablePort",
                        str(port),
                        "--inMemoryPersistence",
                        "--disableTelemetry",
                        "--skipApiVersionCheck",
                    ],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                    start_new_session=True,
                )
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and process.poll() is None:
                    last_output = log_path.read_text(errors="replace")
                    if "successfully" in last_output and _accepts(port):
                        break
                    time.sleep(0.1)
                if process.poll() is None and _accepts(port):
                    yield connection_string(port)
                    return
                last_output = log_path.read_text(errors="replace")
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    raise RuntimeError(f"Azurite did not start; its output:\n{last_output}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
