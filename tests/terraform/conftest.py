"""Shared fixtures of the terraform/ checks: the parsed HCL and the built tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hcl2
import pytest

from spyops.infra import runner
from spyops.infra.toolchain import InfraTools, find_tools

TERRAFORM_ROOT = Path(__file__).resolve().parents[2] / "terraform"
MODULES = sorted(path.name for path in (TERRAFORM_ROOT / "modules").iterdir() if path.is_dir())
ENVIRONMENTS = list(runner.ENVIRONMENTS)

_OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True, preserve_heredocs=False
)


def load_hcl(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    return parsed


def load_dir(directory: Path) -> dict[str, list[Any]]:
    """Every top-level block of the directory's .tf files, merged by kind (resource, variable, ...)."""
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for kind, blocks in load_hcl(path).items():
            merged.setdefault(kind, []).extend(blocks)
    return merged


@pytest.fixture(scope="session")
def infra_tools() -> InfraTools:
    # find_tools fails with "run `spyops infra build-tools`" when `make
    # terraform-tools` has not built them; the build is too long for a test.
    return find_tools()
