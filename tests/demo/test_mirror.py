"""The ConfigMap mirror: only cluster addresses change, and the file is replaced atomically."""

from __future__ import annotations

import json
from pathlib import Path

from spyops.demo.mirror import ConfigMirror, LocalAddresses, localize
from spyops.schemas.runtime_config import GatewayEndpoint, OutboundSettings, RuntimeConfig, TradingState

LOCAL = LocalAddresses(
    gateway_host="127.0.0.1",
    gateway_port=18002,
    detector_stream_url="http://127.0.0.1:18007",
    backend_token_file="/tmp/demo/backend-token",
)


def rendered(**update: object) -> RuntimeConfig:
    config = RuntimeConfig(
        strategy="default/spy-0dte",
        gateway=GatewayEndpoint(host="paper-sim-0.paper-sim.default.svc", port=4002, client_id_base=240),
        outbound=OutboundSettings(
            backend_url="http://127.0.0.1:18000", token_file="/var/run/secrets/spyops/backend/token"
        ),
        lease_name="spy-0dte-leader",
        detector_stream_url="http://spy-0dte-detector.default.svc:8090",
    )
    return config.model_copy(update=update)


def test_localize_rewrites_exactly_the_cluster_addresses() -> None:
    config = rendered()
    local, rewrites = localize(config, LOCAL)
    assert [(r.field, r.rendered, r.local) for r in rewrites] == [
        ("gateway", "paper-sim-0.paper-sim.default.svc:4002", "127.0.0.1:18002"),
        ("detector_stream_url", "http://spy-0dte-detector.default.svc:8090", "http://127.0.0.1:18007"),
        ("outbound.token_file", "/var/run/secrets/spyops/backend/token", "/tmp/demo/backend-token"),
    ]
    # Everything else is the operator's output unchanged.
    before = config.model_dump(mode="json")
    after = local.model_dump(mode="json")
    for key in ("gateway", "detector_stream_url", "outbound"):
        before.pop(key)
        after.pop(key)
    assert before == after
    assert local.gateway.client_id_base == 240
    assert local.outbound.backend_url == "http://127.0.0.1:18000"


def test_localize_leaves_empty_fields_alone() -> None:
    config = rendered(detector_stream_url="", outbound=OutboundSettings())
    local, rewrites = localize(config, LOCAL)
    assert [r.field for r in rewrites] == ["gateway"]
    assert local.detector_stream_url == ""
    assert local.outbound.token_file == ""


def test_mirror_rewrites_on_change_only(tmp_path: Path) -> None:
    current = {"text": rendered().to_json()}
    said: list[str] = []
    mirror = ConfigMirror(lambda: current["text"], LOCAL, tmp_path / "config", said.append)
    assert mirror.sync_once() is True
    first_inode = mirror.path.stat().st_ino
    assert mirror.sync_once() is False  # unchanged ConfigMap: the file is not touched
    assert mirror.path.stat().st_ino == first_inode
    current["text"] = rendered(trading_state=TradingState.HALTED).to_json()
    assert mirror.sync_once() is True
    written = json.loads(mirror.path.read_text())
    assert written["trading_state"] == "HALTED"
    assert written["gateway"]["host"] == "127.0.0.1"
    assert mirror.path.stat().st_ino != first_inode  # replaced, never written in place
    assert list(mirror.directory.iterdir()) == [mirror.path]  # no temp file left behind
    assert any("tradingState=HALTED" in line for line in said)


def test_mirror_skips_a_missing_configmap(tmp_path: Path) -> None:
    mirror = ConfigMirror(lambda: None, LOCAL, tmp_path / "config", lambda _: None)
    assert mirror.sync_once() is False
    assert not mirror.path.exists()
