"""kwok's default node and pod Stages, read from the pinned kwok module in Go's module cache.

kwok refuses to start without Stage objects. The ones kwokctl uses by default
(node initialize + heartbeat with lease, pod ready / complete / delete) ship
inside the kwok module, so they come from exactly the kwok version we run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from spyops.toolchain import GoBuildError

_STAGE_FILES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


def _kwok_module_dir(go_module_dir: Path) -> Path:
    go = shutil.which("go")
    if go is None:
        raise GoBuildError("`go` is needed to locate kwok's stage definitions in the module cache")
    subprocess.run([go, "mod", "download", "sigs.k8s.io/kwok"], cwd=go_module_dir, check=True)
    out = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"],
        cwd=go_module_dir,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not out:
        raise GoBuildError("sigs.k8s.io/kwok is not in the Go module cache after `go mod download`")
    return Path(out)


def write_default_stages(go_module_dir: Path, target: Path) -> None:
    source = _kwok_module_dir(go_module_dir)
    documents = []
    for relative in _STAGE_FILES:
        path = source / relative
        if not path.is_file():
            raise GoBuildError(f"kwok module has no {relative}; the pinned kwok version changed its layout")
        documents.append(path.read_text().strip())
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".stages-")
    with os.fdopen(fd, "w") as handle:
        handle.write("\n---\n".join(documents) + "\n")
    os.replace(tmp, target)
