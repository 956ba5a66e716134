"""The pinned tool builds: cache keys and version pins."""

from __future__ import annotations

import re
from pathlib import Path

from spyops.cluster.binaries import GO_MODULE_DIR, control_plane_tools, pinned_versions
from spyops.toolchain.gobuild import GoTool, cache_key


def test_pinned_versions_come_from_the_wrapper_module() -> None:
    versions = pinned_versions()
    go_mod = (GO_MODULE_DIR / "go.mod").read_text()
    assert re.match(r"^v1\.(3[3-9]|[4-9]\d)\.\d+$", versions["kubernetes"]), "Kubernetes 1.33 or newer"
    for module, version in (
        ("k8s.io/kubernetes", versions["kubernetes"]),
        ("go.etcd.io/etcd/server/v3", versions["etcd"]),
        ("sigs.k8s.io/kwok", versions["kwok"]),
    ):
        assert f"{module} {version}" in go_mod


def test_every_staging_module_is_replaced_by_its_published_tag() -> None:
    go_mod = (GO_MODULE_DIR / "go.mod").read_text()
    minor = pinned_versions()["kubernetes"].removeprefix("v1.")
    replaces = re.findall(r"^\s*(k8s\.io/[\w.-]+) => (k8s\.io/[\w.-]+) (v\S+)$", go_mod, re.MULTILINE)
    assert len(replaces) >= 29
    for source, target, version in replaces:
        assert source == target
        assert version == f"v0.{minor}"


def test_kube_binaries_carry_the_release_version() -> None:
    kube = pinned_versions()["kubernetes"]
    apiserver = next(t for t in control_plane_tools() if t.name == "kube-apiserver")
    assert f"-X k8s.io/component-base/version.gitVersion={kube}" in apiserver.ldflags


def test_cache_key_changes_with_pins_and_tools(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.26.0\n")
    (tmp_path / "go.sum").write_text("")
    tools = [GoTool("a", "example.com/a")]
    base = cache_key(tmp_path, tools, "go1.26.8")
    assert base == cache_key(tmp_path, tools, "go1.26.8")
    assert base != cache_key(tmp_path, [GoTool("a", "example.com/a", ("-s",))], "go1.26.8")
    assert base != cache_key(tmp_path, tools, "go1.27.0")
    (tmp_path / "go.sum").write_text("example.com/a v1.0.0 h1:x\n")
    assert base != cache_key(tmp_path, tools, "go1.26.8")


def test_cache_key_follows_the_source_of_a_module_with_its_own_command(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module x\n\ngo 1.26.0\n")
    (tmp_path / "go.sum").write_text("")
    tools = [GoTool("a", ".")]
    (tmp_path / "tools.go").write_text("package tools\n")
    only_pins = cache_key(tmp_path, tools, "go1.26.8")
    (tmp_path / "tools.go").write_text("package tools // edited\n")
    assert cache_key(tmp_path, tools, "go1.26.8") == only_pins, "tools.go-only modules keep their key"
    (tmp_path / "main.go").write_text("package main\n")
    with_main = cache_key(tmp_path, tools, "go1.26.8")
    assert with_main != only_pins
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert cache_key(tmp_path, tools, "go1.26.8") != with_main
