"""Whether the demo runs its pods for real (the embedded cluster's real node) or as local processes.

`spyops demo --node auto` (the default) takes the real node where this machine can run it (root, the
Debian runtime of `make node-runtime`, the image of `make images`) and otherwise says in one line why
it falls back to local processes on kwok's simulated node."""

from __future__ import annotations

from enum import StrEnum


class NodeMode(StrEnum):
    AUTO = "auto"
    REAL = "real"
    KWOK = "kwok"


def real_node_missing() -> str | None:
    """What keeps the real node from running here, in a few words; None when it can run."""
    from spyops.cluster.node.host import missing_requirements
    from spyops.images.build import all_tags
    from spyops.images.podman import ImageError, image_exists

    missing = missing_requirements()
    if missing:
        return "missing " + ", ".join(missing) + " (`make node-runtime`, as root)"
    try:
        absent = [tag for tag in all_tags() if not image_exists(tag)]
    except (ImageError, OSError) as exc:
        return f"podman cannot list images ({exc})"
    if absent:
        return f"image {', '.join(absent)} not built (`make images`)"
    return None


def choose(mode: NodeMode) -> tuple[bool, str]:
    """(use the real node, the one line that says which and why)."""
    if mode is NodeMode.KWOK:
        return False, "pods: local processes on kwok's simulated node (--node kwok)"
    missing = real_node_missing()
    if missing is None:
        return True, "pods: real containers on the real node (kubectl get pods / kubectl logs work)"
    if mode is NodeMode.REAL:
        raise RuntimeError(f"--node real: this machine cannot run the real node: {missing}")
    return (
        False,
        f"pods: local processes on kwok's simulated node, since the real node cannot run here: {missing}",
    )
