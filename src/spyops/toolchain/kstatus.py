"""kstatus (``sigs.k8s.io/cli-utils/pkg/kstatus/status``, what Flux uses for health) as a command.

``kstatus-gomodule/`` is a tiny Go main pinned to cli-utils: it reads objects as JSON on stdin and
prints kstatus's verdict for each (Current, InProgress, Failed, Terminating, ...). It is built once
through the cached Go builder, like helm, so tests judge our statuses with the real library.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spyops.toolchain.gobuild import GoBuildError, GoTool, build_go_tools

KSTATUS_MODULE_DIR = Path(__file__).parent / "kstatus-gomodule"


@dataclass(frozen=True)
class Verdict:
    kind: str
    namespace: str
    name: str
    status: str
    message: str


def ensure_kstatus(progress: Callable[[str], None] | None = None) -> Path:
    """Path of the kstatus command (built once from the pinned module, then cached)."""
    tool = GoTool("kstatus", ".", ("-s", "-w"))
    return build_go_tools(KSTATUS_MODULE_DIR, [tool], cache_subdir="kstatus", progress=progress)["kstatus"]


def parse_verdicts(output: str) -> list[Verdict]:
    """The command's JSON lines as verdicts."""
    verdicts = []
    for line in output.splitlines():
        raw = json.loads(line)
        verdicts.append(Verdict(raw["kind"], raw["namespace"], raw["name"], raw["status"], raw["message"]))
    return verdicts


def compute(document: dict[str, Any], binary: Path | None = None) -> list[Verdict]:
    """kstatus's verdict for one object or a List (what `kubectl get -o json` prints)."""
    command = binary or ensure_kstatus()
    result = subprocess.run(
        [str(command)], input=json.dumps(document), capture_output=True, text=True, timeout=30
    )
    if result.returncode != 0:
        raise GoBuildError(f"kstatus failed: {result.stderr.strip()}")
    return parse_verdicts(result.stdout)


if __name__ == "__main__":
    print(ensure_kstatus(progress=print))
