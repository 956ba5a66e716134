"""checkov over terraform/: no failed check, and every skip says why in the code."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from spyops.infra.toolchain import CHECKOV_VERSION, checkov_venv
from tests.terraform.conftest import TERRAFORM_ROOT


def _checkov() -> Path:
    checkov = checkov_venv() / "bin" / "checkov"
    assert checkov.is_file(), (
        f"checkov {CHECKOV_VERSION} is not installed; run `spyops infra build-tools` first"
    )
    return checkov


def _reports(output: str) -> list[dict[str, Any]]:
    parsed = json.loads(output)
    return parsed if isinstance(parsed, list) else [parsed]


def test_checkov_passes_with_explained_skips(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(_checkov()),
            "--config-file",
            str(TERRAFORM_ROOT / ".checkov.yaml"),
            "--directory",
            str(TERRAFORM_ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE"},
        check=False,
    )
    assert result.stdout.strip(), f"checkov printed nothing:\n{result.stderr[-3000:]}"
    reports = _reports(result.stdout)
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}:{check['file_line_range']})"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    skipped = [check for report in reports for check in report["results"]["skipped_checks"]]
    unexplained = [
        f"{check['check_id']} {check['resource']}"
        for check in skipped
        if len(check["check_result"].get("suppress_comment", "").strip()) < 20
    ]
    assert not unexplained, "skips without a reason:\n" + "\n".join(unexplained)
    skip_comments = {
        match.group(1)
        for path in TERRAFORM_ROOT.rglob("*.tf")
        for match in re.finditer(r"#checkov:skip=(CKV2?_[A-Z]+_\d+):", path.read_text())
    }
    stale = skip_comments - {check["check_id"] for check in skipped}
    assert not stale, f"skip comments for checks that no longer fire (remove them): {sorted(stale)}"
    passed = sum(report["summary"]["passed"] for report in reports)
    assert passed > 30, f"checkov passed only {passed} checks: did it scan terraform/?"
    assert result.returncode == 0, result.stderr[-3000:]
