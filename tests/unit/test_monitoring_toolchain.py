"""The Prometheus/Alertmanager builds: pins, version stamps, build tags in the cache key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from spyops.toolchain.gobuild import GoTool, cache_key
from spyops.toolchain.monitoring import (
    ALERTMANAGER_MODULE_DIR,
    PROMETHEUS_MODULE_DIR,
    monitoring_tools,
    pinned_versions,
    release_version,
)


def test_pins_come_from_the_wrapper_modules() -> None:
    versions = pinned_versions()
    assert (
        f"require github.com/prometheus/prometheus {versions['prometheus']}"
        in (PROMETHEUS_MODULE_DIR / "go.mod").read_text()
    )
    assert (
        f"require github.com/prometheus/alertmanager {versions['alertmanager']}"
        in (ALERTMANAGER_MODULE_DIR / "go.mod").read_text()
    )


def test_prometheus_3_module_versions_map_to_releases() -> None:
    assert release_version("v0.316.0") == "3.16.0"
    assert release_version("v0.300.1") == "3.0.1"
    assert release_version("v0.31.1") == "0.31.1"


def test_prometheus_is_built_without_cloud_service_discovery_and_stamped() -> None:
    prometheus_tools, alertmanager_tools = monitoring_tools()
    assert [t.name for t in prometheus_tools] == ["prometheus", "promtool"]
    assert [t.name for t in alertmanager_tools] == ["alertmanager", "amtool"]
    for tool in prometheus_tools:
        assert tool.tags == ("remove_all_sd",)
        assert "-X github.com/prometheus/common/version.Version=3.16.0" in tool.ldflags
        assert {"-s", "-w"} <= set(tool.ldflags)


def test_tags_change_the_key_but_untagged_keys_stay_as_they_were(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.26.0\n")
    (tmp_path / "go.sum").write_text("")
    plain = GoTool("a", "example.com/a", ("-s",))
    # The key before tags existed: existing caches (kube binaries, helm) are not rebuilt.
    digest = hashlib.sha256(b"module x\n\ngo 1.26.0\n")
    digest.update(json.dumps([["a", "example.com/a", ["-s"]]]).encode())
    digest.update(b"go1.26.8")
    assert cache_key(tmp_path, [plain], "go1.26.8") == digest.hexdigest()[:16]
    tagged = GoTool("a", "example.com/a", ("-s",), ("remove_all_sd",))
    assert cache_key(tmp_path, [tagged], "go1.26.8") != cache_key(tmp_path, [plain], "go1.26.8")
