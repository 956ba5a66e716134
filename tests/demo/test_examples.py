"""The demo applies `examples/` as they are, so they must be what the workloads accept."""

from __future__ import annotations

from pathlib import Path

import yaml

from spyops.schemas import AnomalyKind

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_example_strategy_names_only_rules_the_detector_knows() -> None:
    spec = yaml.safe_load((EXAMPLES / "tradingstrategy.yaml").read_text())["spec"]
    known = {kind.value for kind in AnomalyKind}
    assert set(spec["detector"]["rules"]) <= known, sorted(set(spec["detector"]["rules"]) - known)


def test_example_references_resolve_to_the_other_examples() -> None:
    strategy = yaml.safe_load((EXAMPLES / "tradingstrategy.yaml").read_text())
    gateway = yaml.safe_load((EXAMPLES / "ibkrgateway-simulator.yaml").read_text())
    link = yaml.safe_load((EXAMPLES / "vpnlink.yaml").read_text())
    assert strategy["spec"]["gatewayRef"]["name"] == gateway["metadata"]["name"]
    assert strategy["spec"]["cloudLinkRef"]["name"] == link["metadata"]["name"]
