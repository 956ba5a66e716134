"""Loading images from podman's store into the node's containerd (the CRI's `k8s.io` namespace), so
pods with `imagePullPolicy: IfNotPresent` start without a registry."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from spyops.images.podman import ImageError, podman


def ctr(
    prefix: Sequence[str], socket: Path, *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`ctr` against the node's containerd, run through ``prefix`` (nsenter into the node's namespaces)."""
    return subprocess.run(
        [*prefix, "ctr", f"--address={socket}", "--namespace=k8s.io", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_containerd(prefix: Sequence[str], socket: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        result = ctr(prefix, socket, "version", timeout=5)
        if result.returncode == 0:
            return
        last = result.stderr.strip()
        time.sleep(0.1)
    raise ImageError(f"containerd did not answer on {socket} within {timeout:.0f} s: {last}")


def load_images(prefix: Sequence[str], socket: Path, refs: Sequence[str], workdir: Path) -> float:
    """Copy ``refs`` from podman into containerd; return the seconds it took."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="images-", dir=workdir) as tmp:
        archive = Path(tmp) / "images.tar"
        podman("save", "--multi-image-archive", "--format", "docker-archive", "--output", str(archive), *refs)
        result = ctr(prefix, socket, "images", "import", str(archive))
        if result.returncode != 0:
            raise ImageError(f"`ctr images import` failed: {result.stderr.strip()[-1000:]}")
    listed = ctr(prefix, socket, "images", "list", "--quiet").stdout.split()
    absent = [ref for ref in refs if _normalized(ref) not in listed]
    if absent:
        raise ImageError(f"containerd does not list {', '.join(absent)} after the import (it has: {listed})")
    return time.monotonic() - started


def _normalized(ref: str) -> str:
    """containerd names images fully (docker.io/library/x:tag); podman's localhost/ names stay as they are."""
    first = ref.split("/", 1)[0]
    if "/" not in ref:
        return f"docker.io/library/{ref}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{ref}"
    return ref
