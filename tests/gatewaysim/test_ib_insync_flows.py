"""ib_insync 0.9.86 (client versions 157..176) runs every ib_async flow against the simulator.

It cannot be imported next to ib_async (both install a module named ``eventkit``), so the flows
run in their own pytest process with ``.venv/ib-insync`` (``make ib-insync``) first on the path.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "tests" / "gatewaysim" / "test_ib_async_flows.py"
IB_INSYNC_DIR = Path(os.environ.get("SPYOPS_IB_INSYNC_DIR", Path(sys.prefix) / "ib-insync"))


def flow_names() -> set[str]:
    tree = ast.parse(FLOWS.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_ib_async_flow_passes_with_ib_insync_0_9_86(tmp_path: Path) -> None:
    if not (IB_INSYNC_DIR / "ib_insync").is_dir():
        pytest.fail(f"ib_insync 0.9.86 is not installed in {IB_INSYNC_DIR}: run `make ib-insync`")
    report = tmp_path / "report.xml"
    python_path = os.pathsep.join(filter(None, [str(IB_INSYNC_DIR), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(FLOWS), "-q", "-p", "no:cacheprovider",
            f"--junitxml={report}",
        ],
        cwd=ROOT,
        env={**os.environ, "SPYOPS_TEST_IB_CLIENT": "ib_insync", "PYTHONPATH": python_path},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    output = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, output
    cases = ET.parse(report).getroot().iter("testcase")  # noqa: S314 - the report our own pytest wrote
    passed = {
        case.attrib["name"]
        for case in cases
        if not any(child.tag in ("failure", "error", "skipped") for child in case)
    }
    # Every flow ran and passed (none skipped or missing), the library check included.
    assert passed == flow_names(), output
    assert "test_the_client_library_is_the_one_asked_for" in passed
