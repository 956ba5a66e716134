"""The images the chart and the operator reference: one place for their names and tags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART_DIR = REPO_ROOT / "charts" / "spyops"

# The production base of the Dockerfile (its BASE_IMAGE build argument; spyops.images.base makes a
# stand-in from Debian packages where this cannot be pulled).
PRODUCTION_BASE = "docker.io/library/python:3.11-slim-bookworm"


@dataclass(frozen=True)
class ImageSpec:
    """One image to build from one Dockerfile, under every tag that names it."""

    tags: tuple[str, ...]
    dockerfile: Path
    context: Path


def chart_app_version() -> str:
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    return str(chart["appVersion"])


def chart_images(values_file: Path | None = None) -> list[str]:
    """Every image reference the chart's values name (the operator's and the workloads')."""
    values = yaml.safe_load((values_file or CHART_DIR / "values.yaml").read_text())
    operator = f"{values['image']['repository']}:{values['image']['tag'] or chart_app_version()}"
    return sorted({operator, str(values["workloadImage"])})


def image_specs() -> list[ImageSpec]:
    """What `spyops images build` makes: one image for every Python component (README: Images)."""
    return [ImageSpec(tuple(chart_images()), REPO_ROOT / "Dockerfile", REPO_ROOT)]
