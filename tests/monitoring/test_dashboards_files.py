"""The dashboards: generated files match the code, and every dashboard is valid Grafana JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spyops.monitoring.dashboard_model import Dashboard, Panel, Query, expand, render
from spyops.monitoring.dashboards import DASHBOARDS
from spyops.monitoring.files import DASHBOARDS_DIR, drifted_dashboards, write_dashboards


def test_checked_in_dashboards_match_the_code() -> None:
    assert drifted_dashboards() == [], "run `spyops monitoring dashboards`"


def test_drift_is_detected(tmp_path: Path) -> None:
    write_dashboards(tmp_path)
    assert drifted_dashboards(tmp_path) == []
    first = sorted(tmp_path.glob("*.json"))[0]
    first.write_text(first.read_text().replace("spyops", "spy0ps", 1))
    (tmp_path / "old.json").write_text("{}")
    assert drifted_dashboards(tmp_path) == sorted([first.name, "old.json"])


def test_the_four_dashboards_the_seeds_ask_for() -> None:
    titles = {d.uid for d in DASHBOARDS}
    assert titles == {"spyops-operator", "spyops-trading", "spyops-ibkr-gateway", "spyops-vpn-link"}
    for path in DASHBOARDS_DIR.glob("*.json"):
        model = json.loads(path.read_text())
        assert model["id"] is None
        assert 8 <= len(model["uid"]) <= 40
        ids = [p["id"] for p in model["panels"]]
        assert len(ids) == len(set(ids))
        for panel in model["panels"]:
            assert panel["targets"], panel["title"]
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24
            for target in panel["targets"]:
                assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_panels_do_not_overlap() -> None:
    for dashboard in DASHBOARDS:
        cells: set[tuple[int, int]] = set()
        for panel in render(dashboard)["panels"]:
            g = panel["gridPos"]
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{dashboard.uid}: {panel['title']} overlaps"
            cells |= mine


def test_expand_fills_grafana_variables_and_refuses_unknown_ones() -> None:
    assert expand('rate(x{strategy=~"$strategy"}[$__rate_interval])') == 'rate(x{strategy=~".*"}[1m])'
    assert expand("${namespace}") == ".*"
    with pytest.raises(ValueError, match=r"\$nope"):
        expand("x{a=~'$nope'}")
    layout = render(Dashboard("abcdefgh", "t", "d", (Panel("p", (Query("up"),), width=24),)))
    assert layout["panels"][0]["gridPos"] == {"h": 8, "w": 24, "x": 0, "y": 0}
