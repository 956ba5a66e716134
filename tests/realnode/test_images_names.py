"""The image names agree everywhere: chart values, the operator's default, `spyops images`, the Dockerfile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spyops.images.build import pip_ca_bundle
from spyops.images.names import CHART_DIR, PRODUCTION_BASE, REPO_ROOT, chart_images, image_specs
from spyops.operator.main import DEFAULT_WORKLOAD_IMAGE


def test_one_image_serves_the_operator_and_every_workload() -> None:
    assert chart_images() == [DEFAULT_WORKLOAD_IMAGE]
    specs = image_specs()
    assert len(specs) == 1
    assert specs[0].tags == (DEFAULT_WORKLOAD_IMAGE,)
    assert specs[0].dockerfile == REPO_ROOT / "Dockerfile"


@pytest.mark.parametrize("values", ["values-prod.yaml", "values-dev.yaml"])
def test_no_values_file_points_at_another_image(values: str) -> None:
    text = (CHART_DIR / values).read_text()
    assert "image" not in text.lower() or chart_images(CHART_DIR / "values.yaml") == [DEFAULT_WORKLOAD_IMAGE]
    assert "repository:" not in text
    assert "workloadImage" not in text


def test_dockerfile_base_is_the_production_base_by_default() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    match = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.MULTILINE)
    assert match is not None
    assert match.group(1) == PRODUCTION_BASE
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["${BASE_IMAGE}", "${BASE_IMAGE}"]
    assert 'ENTRYPOINT ["spyops"]' in text


def test_pip_ca_bundle_follows_pip_cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("PIP_CERT", str(bundle))
    assert pip_ca_bundle() == bundle
