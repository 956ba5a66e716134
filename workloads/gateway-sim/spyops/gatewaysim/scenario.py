"""Scenario files: a day's events replayed at fixed session times, deterministically.

A scenario is YAML (or JSON) with optional run settings and a list of events. Each event
fires when the simulated session clock reaches its ``at`` time (``HH:MM:SS[.ffffff]``
Eastern time on the session date), before the market model steps past it, so the same
seed and scenario give the same market every run. Errors name the line and the field.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from spyops.schemas import AnomalyKind, OptionRight


class ScenarioError(ValueError):
    """The scenario file is unreadable or invalid; the message says where and why."""


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: dt.time = Field(description="Session time (Eastern) at which the event fires.")


class InjectAnomaly(_Event):
    action: Literal["inject_anomaly"]
    kind: AnomalyKind
    strike: float | None = Field(default=None, gt=0)
    right: OptionRight | None = None
    size: float | None = None
    duration_seconds: float | None = Field(default=None, gt=0)


class DropConnections(_Event):
    action: Literal["drop_connections"]


class ConnectivityLost(_Event):
    action: Literal["connectivity_lost"]


class ConnectivityRestored(_Event):
    action: Literal["connectivity_restored"]
    data_lost: bool = False


class PauseMarketData(_Event):
    action: Literal["pause_market_data"]


class ResumeMarketData(_Event):
    action: Literal["resume_market_data"]


class Restart(_Event):
    action: Literal["restart"]
    downtime_seconds: float = Field(default=2.0, ge=0, le=600)


ScenarioEvent = Annotated[
    InjectAnomaly
    | DropConnections
    | ConnectivityLost
    | ConnectivityRestored
    | PauseMarketData
    | ResumeMarketData
    | Restart,
    Field(discriminator="action"),
]
_EVENT = TypeAdapter(ScenarioEvent)


class ScenarioSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int | None = None
    session_date: dt.date | None = None
    start: dt.time | None = None
    speed: float | None = Field(default=None, gt=0, le=1000)
    anomalies_per_minute: float | None = Field(default=None, ge=0, le=600)


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True)

    settings: ScenarioSettings = Field(default_factory=ScenarioSettings)
    events: tuple[ScenarioEvent, ...] = ()


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '<event>'}: {err['msg']}" for err in exc.errors()
    )


# Scenarios that ship with the simulator, by name: what an IBKRGateway's `simulator.scenario` names.
BUILTIN_DIR = Path(__file__).parent / "scenarios"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve_scenario(value: str) -> Path:
    """A scenario given as a file path, or by the name of a built-in one (the operator renders names)."""
    path = Path(value)
    if path.is_file():
        return path
    if "/" not in value and (BUILTIN_DIR / f"{value}.yaml").is_file():
        return BUILTIN_DIR / f"{value}.yaml"
    raise ScenarioError(
        f"unknown scenario {value!r}: not a file, and not one of the built-in names {', '.join(builtin_names())}"
    )


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # One line: PyYAML's own text spans several (context, snippet, caret).
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError(f"{source}: not valid YAML{where}: {problem}") from exc
    if data is None:
        return Scenario()
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise ScenarioError(
            f"{source}: the top level must be a mapping with 'events' (and optional settings)"
        )
    raw_events = data.pop("events", []) or []
    if not isinstance(raw_events, list):
        raise ScenarioError(f"{source}: 'events' must be a list")
    try:
        settings = ScenarioSettings.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: settings: {_problems(exc)}") from exc
    event_nodes: list[yaml.Node] = []
    for key, value in root.value:
        if (
            isinstance(key, yaml.ScalarNode)
            and key.value == "events"
            and isinstance(value, yaml.SequenceNode)
        ):
            event_nodes = list(value.value)
    events = []
    for index, raw in enumerate(raw_events):
        line = event_nodes[index].start_mark.line + 1 if index < len(event_nodes) else 0
        if isinstance(raw, dict) and isinstance(raw.get("at"), int):
            # YAML reads 10:00:00 unquoted as a sexagesimal integer; take it back as seconds.
            seconds = raw["at"]
            raw = {**raw, "at": dt.time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60)}
        try:
            events.append(_EVENT.validate_python(raw))
        except ValidationError as exc:
            raise ScenarioError(f"{source}:{line}: event {index + 1}: {_problems(exc)}") from exc
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].at, pair[0]))
    return Scenario(settings=settings, events=tuple(event for _, event in ordered))


def event_time(event: ScenarioEvent, session_date: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(session_date, event.at, tzinfo=tz)
