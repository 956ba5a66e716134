"""Where the monitoring files live in the chart, and writing/checking the generated dashboards."""

from __future__ import annotations

import json
from pathlib import Path

from spyops.monitoring.dashboard_model import render
from spyops.monitoring.dashboards import DASHBOARDS

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART_DIR = REPO_ROOT / "charts" / "spyops"
RULES_FILE = CHART_DIR / "files" / "prometheus" / "spyops-alerts.rules.yaml"
RULE_TESTS_DIR = REPO_ROOT / "monitoring" / "tests"
DASHBOARDS_DIR = CHART_DIR / "files" / "dashboards"
ALERTMANAGER_TEMPLATE = CHART_DIR / "files" / "alertmanager" / "spyops.tmpl"


def dashboard_files() -> dict[str, str]:
    """{file name: JSON text} of every dashboard, as checked in."""
    return {d.file_name: json.dumps(render(d), indent=2, sort_keys=True) + "\n" for d in DASHBOARDS}


def write_dashboards(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in dashboard_files().items():
        path = directory / name
        path.write_text(text)
        written.append(path)
    return written


def drifted_dashboards(directory: Path = DASHBOARDS_DIR) -> list[str]:
    """Names of dashboard files that are missing, stale, or no longer generated."""
    expected = dashboard_files()
    stale = [
        n
        for n, text in expected.items()
        if not (directory / n).is_file() or (directory / n).read_text() != text
    ]
    extra = [p.name for p in directory.glob("*.json") if p.name not in expected] if directory.is_dir() else []
    return sorted(stale + extra)
