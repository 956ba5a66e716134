"""The checked-in CRDs are exactly what the API models generate, and the schemas are complete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from spyops.operator.api.crd import ALL_KINDS, crd_file_name, crd_manifest, drifted, generate

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
CHART_CRDS = REPO / "charts" / "spyops" / "files" / "crds"


def test_checked_in_crds_match_the_models() -> None:
    stale = drifted(CRDS, CHART_CRDS)
    assert stale == [], f"run `spyops crds generate`: {stale}"


def test_drift_is_detected(tmp_path: Path) -> None:
    generate(tmp_path, tmp_path / "chart")
    assert drifted(tmp_path, tmp_path / "chart") == []
    assert "helm.sh/resource-policy: keep" in (tmp_path / "chart" / crd_file_name(ALL_KINDS[0])).read_text()
    victim = tmp_path / crd_file_name(ALL_KINDS[0])
    victim.write_text(victim.read_text().replace("maximum: 50", "maximum: 51"))
    assert drifted(tmp_path) == [str(victim)]


def _walk(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    found = [(path, schema)]
    for name, child in (schema.get("properties") or {}).items():
        found += _walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        found += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        found += _walk(schema["additionalProperties"], f"{path}{{}}")
    return found


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_schema_is_structural_and_described(kind: Any) -> None:
    crd = crd_manifest(kind)
    version = crd["spec"]["versions"][0]
    root = version["schema"]["openAPIV3Schema"]
    for path, node in _walk(root["properties"]["spec"], "spec") + _walk(
        root["properties"]["status"], "status"
    ):
        assert node.get("type"), f"{path} has no type (not structural)"
        element = path.endswith(("[]", "{}"))
        assert node.get("description") or (element and node["type"] != "object"), f"{path} has no description"
        assert "$ref" not in node, f"{path} is not structural"
        assert "anyOf" not in node, f"{path} is not structural"
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["names"]["categories"] == ["spyops"]
    assert crd["spec"]["names"]["shortNames"]
    assert any(c["name"] == "Ready" for c in version["additionalPrinterColumns"])
    assert crd["spec"]["scope"] == "Namespaced"


def test_strategy_schema_carries_defaults_ranges_enums_and_cel() -> None:
    crd = crd_manifest(ALL_KINDS[0])
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    props = spec["properties"]
    assert props["replicas"]["default"] == 3
    assert props["replicas"]["minimum"] == 1
    assert props["tradingState"]["enum"] == ["ACTIVE", "REDUCING", "HALTED"]
    assert props["risk"]["default"]["maxDailyLoss"] == 1000.0
    assert props["risk"]["default"]["tradingHours"] == {
        "timezone": "America/New_York",
        "start": "09:30",
        "end": "15:55",
    }
    loss = props["risk"]["properties"]["maxDailyLoss"]
    assert loss["minimum"] == 0
    assert loss["exclusiveMinimum"] is True
    assert props["risk"]["properties"]["maxMessagesPerSecond"]["maximum"] == 50
    assert props["underlying"]["pattern"].startswith("^[A-Z]")
    detector_rules = [r["rule"] for r in props["detector"]["x-kubernetes-validations"]]
    assert any("strikeWindow" in rule for rule in detector_rules)
    assert spec["required"] == ["gatewayRef"]


def test_generated_yaml_round_trips() -> None:
    for kind in ALL_KINDS:
        loaded = yaml.safe_load((CRDS / crd_file_name(kind)).read_text())
        assert loaded == crd_manifest(kind)
