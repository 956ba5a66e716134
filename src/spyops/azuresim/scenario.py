"""Timelines from YAML or JSON files: a list of control steps, each at a time offset.

Example::

    steps:
      - at: 0
        connection: {status: Connected}
      - at: 10
        connection: {status: NotConnected}
        resetBehavior: {target: connection, result: succeed, polls: 2, restoreAfterSeconds: 5}
      - at: 40
        fault: {status: 429, count: 2, retryAfter: 3}
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from spyops.azuresim.commands import Scenario


class ScenarioError(ValueError):
    """The timeline file is unreadable or invalid; the message names the file and the field."""


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    try:
        data = yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        raise ScenarioError(f"{source}: not valid YAML/JSON{where}: {getattr(exc, 'problem', exc)}") from exc
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ScenarioError(f"{source}: invalid scenario: {problems}") from exc


def load_scenario(path: Path) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"cannot read scenario {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_scenario(text, str(path))
