"""The Dockerfile's base image: the production one when it can be had, otherwise a stand-in made from
Debian packages with mmdebstrap (cached), because registries cannot be reached from every machine."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from spyops.images.names import PRODUCTION_BASE
from spyops.images.podman import ImageError, image_exists, podman
from spyops.toolchain import cache_root

DEBIAN_SUITE = "bookworm"  # python:3.11-slim-bookworm's Debian, whose python3 is 3.11
DEBIAN_PACKAGES = ("python3", "python3-venv", "passwd", "ca-certificates")
DEBIAN_BASE_REPO = "localhost/spyops/debian-python"


def debian_mirror() -> str:
    return os.environ.get("SPYOPS_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def debian_base_ref() -> str:
    """The stand-in's tag, keyed by what goes into it (a change of packages or mirror makes a new one)."""
    key = hashlib.sha256(f"{DEBIAN_SUITE}|{','.join(DEBIAN_PACKAGES)}|{debian_mirror()}".encode()).hexdigest()
    return f"{DEBIAN_BASE_REPO}:{DEBIAN_SUITE}-{key[:12]}"


def _try_pull(ref: str) -> str | None:
    """None when pulled, else podman's one-line reason."""
    try:
        podman("pull", "--quiet", ref, timeout=120)
    except ImageError as exc:
        return str(exc).splitlines()[-1]
    except subprocess.TimeoutExpired:
        return "timed out after 120 s"
    return None


def build_debian_base(say: Callable[[str], None]) -> str:
    """mmdebstrap a minimal bookworm with Python 3.11 into a tarball (cached) and import it into podman."""
    ref = debian_base_ref()
    if image_exists(ref):
        return ref
    mmdebstrap = shutil.which("mmdebstrap")
    if mmdebstrap is None:
        raise ImageError(
            f"the base image {PRODUCTION_BASE} cannot be pulled and mmdebstrap (to make one from Debian "
            "packages) is not installed; run `make node-runtime`"
        )
    cache = cache_root() / "images"
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{ref.rsplit(':', 1)[1]}.tar"
    with (cache / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.is_file():
            say(f"making {ref} from Debian packages with mmdebstrap (a few minutes, once) ...")
            fd, tmp_name = tempfile.mkstemp(prefix=".rootfs-", suffix=".tar", dir=cache)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                result = subprocess.run(
                    [
                        mmdebstrap,
                        "--variant=minbase",
                        "--mode=root",
                        "--quiet",
                        f"--include={','.join(DEBIAN_PACKAGES)}",
                        # No apt lists or caches in the image, as in the official slim images.
                        "--customize-hook=rm -rf $1/var/lib/apt/lists/* $1/var/cache/apt/*",
                        DEBIAN_SUITE,
                        str(tmp),
                        debian_mirror(),
                    ],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    raise ImageError(
                        f"mmdebstrap failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}"
                    )
                tmp.rename(tarball)
            finally:
                tmp.unlink(missing_ok=True)
        if not image_exists(ref):
            podman(
                "import",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                'CMD ["python3"]',
                str(tarball),
                ref,
            )
    return ref


def resolve_base(say: Callable[[str], None], requested: str | None = None) -> str:
    """The base to build on: ``requested`` (or $SPYOPS_BASE_IMAGE) as given, else the production base when
    present or pullable, else the Debian stand-in; the fallback is announced in one line."""
    explicit = requested or os.environ.get("SPYOPS_BASE_IMAGE")
    if explicit:
        return explicit
    if image_exists(PRODUCTION_BASE):
        return PRODUCTION_BASE
    reason = _try_pull(PRODUCTION_BASE)
    if reason is None:
        return PRODUCTION_BASE
    ref = build_debian_base(say)
    say(
        f"base image: {PRODUCTION_BASE} cannot be pulled ({reason}); using {ref}, made from Debian {DEBIAN_SUITE} packages"
    )
    return ref
