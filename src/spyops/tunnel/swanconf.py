"""A reader for the swanctl.conf syntax (strongSwan's settings format), enough to check a file.

Sections are ``name {`` ... ``}``, settings ``key = value`` one per line, ``#`` starts a comment
outside double quotes. ``include`` is refused rather than followed: check the included files
themselves.
"""

from __future__ import annotations

import re

from spyops.tunnel.policy import TunnelConfigError

Section = dict[str, "str | Section"]

_DURATION = re.compile(r"^(?P<n>\d+)(?P<unit>[smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _strip_comment(line: str) -> str:
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:index]
    return line


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def parse_swanctl(text: str, source: str) -> Section:
    """The file as nested sections; a line it cannot read is refused with its number."""
    root: Section = {}
    stack: list[tuple[str, Section]] = [("", root)]
    for number, raw in enumerate(text.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        where = f"{source}:{number}"
        if not line:
            continue
        if line == "}":
            if len(stack) == 1:
                raise TunnelConfigError(f"{where}: '}}' closes no section")
            stack.pop()
        elif line.endswith("{"):
            # ``name : template {`` inherits settings strongSwan fills in; the name is what counts.
            name = line[:-1].split(":", 1)[0].strip()
            if not name or "=" in name or " " in name:
                raise TunnelConfigError(f"{where}: expected 'name {{', got {raw.strip()!r}")
            section: Section = {}
            existing = stack[-1][1].get(name)
            stack[-1][1][name] = existing if isinstance(existing, dict) else section
            stack.append((name, stack[-1][1][name]))  # type: ignore[arg-type]
        elif line.startswith("include ") or line == "include":
            raise TunnelConfigError(f"{where}: include is not followed; check the included files themselves")
        elif "=" in line:
            key, _, value = line.partition("=")
            key = key.strip()
            if not key or " " in key:
                raise TunnelConfigError(f"{where}: expected 'key = value', got {raw.strip()!r}")
            stack[-1][1][key] = _unquote(value.strip())
        else:
            raise TunnelConfigError(
                f"{where}: expected 'name {{', 'key = value' or '}}', got {raw.strip()!r}"
            )
    if len(stack) > 1:
        raise TunnelConfigError(f"{source}: section {'.'.join(n for n, _ in stack[1:])} is not closed")
    return root


def seconds(value: str, where: str) -> int:
    """strongSwan's durations: ``27000``, ``27000s``, ``450m``, ``4h``, ``1d``."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise TunnelConfigError(f"{where}: {value!r} is not a duration (e.g. 27000s, 4h)")
    return int(match["n"]) * _UNITS[match["unit"]]


def split_list(value: str) -> list[str]:
    """Comma (or space) separated lists: addresses, traffic selectors, proposals."""
    return [item for item in re.split(r"[,\s]+", value.strip()) if item]
