"""The OpenAPI document is the contract: `schemathesis run --checks all`, as an outside tester runs
it, against a real `spyops backend` process with a valid token, finds no mismatch.

Each check stands for a promise: no 5xx; every answer's status, content type, headers and body are
the documented ones; data that fits the document is accepted and data that does not is refused;
the write endpoints refuse a request without the token. The one configured exception (an opaque
cursor the API did not issue is a documented 400) is explained in workloads/backend/schemathesis.toml.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.backend.conftest import TOKEN
from tests.backend_process import BackendProcess, _free_port

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "workloads" / "backend" / "schemathesis.toml"
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.mark.timeout(1200)  # about 3 minutes on an idle 2-core machine; the stateful phase is most of it
async def test_schemathesis_all_checks_find_no_mismatch(tmp_path: Path) -> None:
    assert SCHEMATHESIS.exists(), f"{SCHEMATHESIS} is missing: run `make setup` (dev dependencies)"
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    backend = BackendProcess(_free_port(), tmp_path / "history.sqlite3", token_file, tmp_path / "backend.log")
    await backend.start()
    try:
        process = await asyncio.create_subprocess_exec(
            str(SCHEMATHESIS),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            f"{backend.url}/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--seed",
            "1",
            "--max-examples",
            "30",
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--report-dir",
            str(tmp_path / "report"),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), timeout=900)
    finally:
        await backend.stop()
    text = output.decode(errors="replace")
    assert process.returncode == 0, f"schemathesis found mismatches:\n{text[-12000:]}"
    assert "13 selected / 13 total" in text, text[-3000:]
