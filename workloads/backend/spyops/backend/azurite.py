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


def table_endpoint(port: int, *, https: bool = False) -> str:
    # 127.0.0.1, not localhost: the SDK takes localhost on a port other than 10002 for Cosmos DB.
    return f"{'https' if https else 'http'}://127.0.0.1:{port}/devstoreaccount1"


def connection_string(port: int, *, https: bool = False) -> str:
    return (
        f"DefaultEndpointsProtocol={'https' if https else 'http'};AccountName=devstoreaccount1;"
        f"AccountKey={ACCOUNT_KEY};TableEndpoint={table_endpoint(port, https=https)};"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_azurite(oauth_tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Yield the connection string of a fresh in-memory Azurite Table service.

    ``oauth_tls`` (certificate and key PEM files) serves HTTPS and accepts Entra ID bearer tokens
    (``--oauth basic``: issuer, audience and lifetime are checked, the signature is not), which is
    how a managed identity's access is tested without Azure.
    """
    tls_flags: list[str] = []
    if oauth_tls is not None:
        tls_flags = ["--oauth", "basic", "--cert", str(oauth_tls[0]), "--key", str(oauth_tls[1])]
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
                        *tls_flags,
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
                    yield connection_string(port, https=oauth_tls is not None)
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
