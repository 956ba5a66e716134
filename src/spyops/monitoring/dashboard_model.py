"""A small dashboards-as-code model: panels are data, rendered to Grafana's classic dashboard JSON.

The same panel list feeds the query check (every query must parse and return series against a real
Prometheus), so a dashboard cannot drift from the metrics the components expose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Grafana variables in queries; the query check gives each one a value (all namespaces, strategies...).
VARIABLE_VALUES = {"namespace": ".*", "strategy": ".*", "vpnlink": ".*", "__rate_interval": "1m"}
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
_GRID_WIDTH = 24


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat"
    description: str = ""
    width: int = 12
    height: int = 8


@dataclass(frozen=True)
class Variable:
    """A query variable: the label's values from one metric, multi-select with "All" = `.*`."""

    name: str
    metric: str
    label: str


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...] = field(default=())
    tags: tuple[str, ...] = ("spyops",)

    @property
    def file_name(self) -> str:
        return f"{self.uid}.json"


def expand(expr: str, values: dict[str, str] | None = None) -> str:
    """The query as Prometheus would get it, with `$var` / `${var}` replaced (Grafana's job at view time)."""
    table = values or VARIABLE_VALUES

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in table:
            raise ValueError(f"query uses ${name}, which has no value: {expr}")
        return table[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", substitute, expr)


def _layout(panels: tuple[Panel, ...]) -> list[dict[str, int]]:
    """Left to right, wrapping at Grafana's 24 columns; a row is as tall as its tallest panel."""
    positions: list[dict[str, int]] = []
    x = y = row_height = 0
    for panel in panels:
        if x + panel.width > _GRID_WIDTH:
            x, y, row_height = 0, y + row_height, 0
        positions.append({"h": panel.height, "w": panel.width, "x": x, "y": y})
        x += panel.width
        row_height = max(row_height, panel.height)
    return positions


def _panel_json(panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    refs = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "gridPos": grid,
        "datasource": DATASOURCE,
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}
        if panel.kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        "targets": [
            {"refId": refs[i], "datasource": DATASOURCE, "expr": q.expr, "legendFormat": q.legend or "__auto"}
            for i, q in enumerate(panel.queries)
        ],
    }


def _variable_json(variable: Variable) -> dict[str, Any]:
    return {
        "name": variable.name,
        "type": "query",
        "datasource": DATASOURCE,
        "query": {"query": f"label_values({variable.metric}, {variable.label})", "refId": variable.name},
        "definition": f"label_values({variable.metric}, {variable.label})",
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "refresh": 2,
        "current": {},
        "sort": 1,
    }


def render(dashboard: Dashboard) -> dict[str, Any]:
    """Grafana's classic dashboard JSON model; the datasource is a variable (the sidecar's default uid)."""
    datasource_variable = {
        "name": "datasource",
        "type": "datasource",
        "query": "prometheus",
        "current": {},
        "hide": 0,
    }
    return {
        "id": None,
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": list(dashboard.tags),
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "links": [],
        "annotations": {"list": []},
        "templating": {"list": [datasource_variable, *(_variable_json(v) for v in dashboard.variables)]},
        "panels": [
            _panel_json(panel, i + 1, grid)
            for i, (panel, grid) in enumerate(zip(dashboard.panels, _layout(dashboard.panels), strict=True))
        ],
    }
