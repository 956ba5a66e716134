"""Demo scenario files: timed steps (inject an anomaly, take the VPN link down and up, restart
the gateway, flip the kill switch) that show failover and recovery.

```yaml
steps:
  - {at: 30s, do: inject, kind: butterfly}
  - {at: 60s, do: link-down}
  - {at: 2m, do: link-up}
  - {at: 150s, do: gateway-restart, downtime_seconds: 3}
  - {at: 3m, do: kill-switch, state: HALTED}
```

Parsing is pure; a bad file is refused with its line number and the field that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACTIONS: dict[str, str] = {
    "inject": "inject an anomaly at the gateway simulator (kind; strike, right, size, duration_seconds optional)",
    "link-down": "the Azure VPN connection goes NotConnected (the VpnLink controller sees it and fails over)",
    "link-up": "the Azure VPN connection is Connected again",
    "gateway-restart": "the gateway restarts (downtime_seconds, default 3): clients reconnect and reconcile",
    "gateway-disconnect": "the gateway reports connectivity lost (1100): no quotes, no fills",
    "gateway-reconnect": "the gateway reports connectivity restored (1102; data_lost: true for 1101)",
    "kill-switch": "set the TradingStrategy's tradingState (state: ACTIVE, REDUCING or HALTED)",
}
ANOMALY_KINDS = (
    "vertical_spread",
    "butterfly",
    "parity",
    "iv_outlier",
    "crossed_quote",
    "stale_quote",
    "spread_blowout",
)
TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")
_OPTIONAL_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "inject": {"strike": (int, float), "right": str, "size": (int, float), "duration_seconds": (int, float)},
    "gateway-restart": {"downtime_seconds": (int, float)},
    "gateway-reconnect": {"data_lost": bool},
}
_REQUIRED_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "inject": {"kind": str},
    "kill-switch": {"state": str},
}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class ScenarioError(ValueError):
    """A scenario file that cannot be played; the message names the file, line and field."""


@dataclass(frozen=True)
class Step:
    at_seconds: float
    action: str
    params: dict[str, Any] = field(default_factory=dict)
    line: int = 0

    def describe(self) -> str:
        extra = " ".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.action}{' ' + extra if extra else ''}"


@dataclass(frozen=True)
class Scenario:
    steps: tuple[Step, ...]
    source: str = ""


def parse_duration(value: object) -> float:
    """``30``, ``30s``, ``1.5m``, ``500ms``, ``1h`` -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"not a duration: {value!r} (use e.g. 30, 30s, 2m, 500ms)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {value!r}")
    return seconds


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping (for error messages)."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_type(where: str, name: str, value: object, expected: type | tuple[type, ...]) -> None:
    kinds = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in kinds:
        raise ScenarioError(
            f"{where}: {name} must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}"
        )
    if not isinstance(value, kinds):
        raise ScenarioError(
            f"{where}: {name} must be {' or '.join(k.__name__ for k in kinds)}, got {value!r}"
        )


def _parse_step(source: str, index: int, raw: object) -> Step:
    if not isinstance(raw, dict):
        raise ScenarioError(f"{source}: step {index + 1} must be a mapping like {{at: 30s, do: link-down}}")
    line = int(raw.pop("__line__", 0))
    where = f"{source}:{line}: step {index + 1}"
    if "at" not in raw:
        raise ScenarioError(f"{where}: 'at' is required (seconds after the demo is up, e.g. 30s)")
    if "do" not in raw:
        raise ScenarioError(f"{where}: 'do' is required (one of {', '.join(ACTIONS)})")
    try:
        at_seconds = parse_duration(raw.pop("at"))
    except ValueError as exc:
        raise ScenarioError(f"{where}: at: {exc}") from exc
    action = raw.pop("do")
    if action not in ACTIONS:
        raise ScenarioError(f"{where}: do: unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    required = _REQUIRED_FIELDS.get(action, {})
    optional = _OPTIONAL_FIELDS.get(action, {})
    for name, expected in required.items():
        if name not in raw:
            raise ScenarioError(f"{where}: {action} needs '{name}'")
        _check_type(where, name, raw[name], expected)
    for name, value in raw.items():
        if name in required:
            continue
        if name not in optional:
            allowed = sorted({*required, *optional})
            raise ScenarioError(
                f"{where}: unknown field {name!r} for {action}"
                + (f" (allowed: {', '.join(allowed)})" if allowed else " (it takes no fields)")
            )
        _check_type(where, name, value, optional[name])
    if action == "inject":
        if raw["kind"] not in ANOMALY_KINDS:
            raise ScenarioError(f"{where}: kind: {raw['kind']!r} is not one of {', '.join(ANOMALY_KINDS)}")
        if "right" in raw and raw["right"] not in ("C", "P"):
            raise ScenarioError(f"{where}: right must be C or P, got {raw['right']!r}")
    if action == "kill-switch" and raw["state"] not in TRADING_STATES:
        raise ScenarioError(f"{where}: state: {raw['state']!r} is not one of {', '.join(TRADING_STATES)}")
    return Step(at_seconds=at_seconds, action=action, params=dict(raw), line=line)


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:  # one line: where, and what the parser expected
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ScenarioError(
            f"{source}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"
        ) from exc
    if not isinstance(document, dict):
        raise ScenarioError(f"{source}: expected a mapping with a 'steps' list")
    document.pop("__line__", None)
    unknown = set(document) - {"steps"}
    if unknown:
        raise ScenarioError(
            f"{source}: unknown top-level field(s) {', '.join(sorted(unknown))}; only 'steps'"
        )
    raw_steps = document.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError(f"{source}: 'steps' must be a non-empty list")
    steps = [_parse_step(source, i, raw) for i, raw in enumerate(raw_steps)]
    # Stable sort: steps at the same time keep their file order.
    return Scenario(steps=tuple(sorted(steps, key=lambda s: s.at_seconds)), source=source)


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_scenario(text, str(path))
