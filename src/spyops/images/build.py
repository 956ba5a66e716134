"""Build the images with podman (daemonless) and report what each build cost."""

from __future__ import annotations

import configparser
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spyops.images.base import resolve_base
from spyops.images.names import ImageSpec, image_specs
from spyops.images.podman import ImageError, podman


@dataclass(frozen=True)
class BuiltImage:
    tags: tuple[str, ...]
    image_id: str
    size_bytes: int
    base: str
    seconds: float


def pip_ca_bundle() -> Path | None:
    """The CA bundle pip on this host trusts ($PIP_CERT, else pip.conf's `cert`): the build needs the
    same one where TLS goes through an inspecting proxy. None when pip uses its defaults."""
    candidates = [os.environ.get("PIP_CERT")]
    for conf in (Path("/etc/pip.conf"), Path.home() / ".config" / "pip" / "pip.conf"):
        if conf.is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read(conf)
            except configparser.Error:
                continue
            candidates.append(parser.get("global", "cert", fallback=None))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def inspect(ref: str) -> tuple[str, int]:
    """(image id, size in bytes) of a local image."""
    raw = json.loads(podman("image", "inspect", ref))
    return str(raw[0]["Id"]), int(raw[0]["Size"])


def build_image(
    spec: ImageSpec,
    base: str,
    *,
    ca_bundle: Path | None,
    no_cache: bool = False,
    say: Callable[[str], None] = print,
) -> BuiltImage:
    args = ["build", "--file", str(spec.dockerfile), "--build-arg", f"BASE_IMAGE={base}", "--layers"]
    for tag in spec.tags:
        args += ["--tag", tag]
    if ca_bundle is not None:
        args += ["--secret", f"id=cacert,src={ca_bundle}"]
    if no_cache:
        args.append("--no-cache")
    args.append(str(spec.context))
    say(f"building {', '.join(spec.tags)} from {spec.dockerfile.name} on {base} ...")
    started = time.monotonic()
    podman(*args)
    seconds = round(time.monotonic() - started, 1)
    image_id, size = inspect(spec.tags[0])
    say(f"built {spec.tags[0]} ({size / 1e6:.0f} MB) in {seconds} s")
    return BuiltImage(spec.tags, image_id, size, base, seconds)


def build_all(
    *,
    base: str | None = None,
    ca_bundle: Path | None = None,
    no_cache: bool = False,
    say: Callable[[str], None] = print,
) -> list[BuiltImage]:
    resolved = resolve_base(say, base)
    bundle = ca_bundle if ca_bundle is not None else pip_ca_bundle()
    if bundle is not None:
        say(f"pip inside the build trusts {bundle} (passed as a build secret, not stored in the image)")
    return [
        build_image(spec, resolved, ca_bundle=bundle, no_cache=no_cache, say=say) for spec in image_specs()
    ]


def all_tags() -> list[str]:
    return [tag for spec in image_specs() for tag in spec.tags]


def require_images(refs: list[str]) -> None:
    from spyops.images.podman import image_exists

    missing = [ref for ref in refs if not image_exists(ref)]
    if missing:
        raise ImageError(
            f"image(s) {', '.join(missing)} not built; run `make images` (or `spyops images build`)"
        )
