"""The pod sandbox ("pause") image, made here from Debian's static catatonit (registry.k8s.io/pause
cannot be pulled on every machine): it sleeps as the sandbox's pid 1 and reaps zombies."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from spyops.images.podman import ImageError, image_exists, podman

PAUSE_IMAGE = "localhost/spyops/pause:catatonit"
_CONTAINERFILE = 'FROM scratch\nCOPY catatonit /pause\nUSER 65535:65535\nENTRYPOINT ["/pause", "-P"]\n'


def ensure_pause_image() -> str:
    if image_exists(PAUSE_IMAGE):
        return PAUSE_IMAGE
    catatonit = shutil.which("catatonit") or "/usr/libexec/podman/catatonit"
    if not Path(catatonit).is_file():
        raise ImageError("catatonit (for the pod sandbox image) is not installed; run `make node-runtime`")
    with tempfile.TemporaryDirectory(prefix="spyops-pause-") as tmp:
        shutil.copy2(catatonit, Path(tmp) / "catatonit")
        (Path(tmp) / "Containerfile").write_text(_CONTAINERFILE)
        podman("build", "--tag", PAUSE_IMAGE, "--file", str(Path(tmp) / "Containerfile"), tmp)
    return PAUSE_IMAGE
