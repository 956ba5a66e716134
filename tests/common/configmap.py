"""A ConfigMap volume as the kubelet lays it out, for config hot-reload tests."""

from __future__ import annotations

import os
from pathlib import Path


class ConfigMapVolume:
    """A directory laid out as the kubelet does it: config.json -> ..data/config.json, ..data -> ..v1."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.version = 0

    def publish(self, text: str) -> Path:
        self.version += 1
        target = self.root / f"..2026_11_20_10_00_0{self.version}"
        target.mkdir()
        (target / "config.json").write_text(text, encoding="utf-8")
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(target.name)
        os.replace(tmp, self.root / "..data")  # the atomic swap
        link = self.root / "config.json"
        if not link.is_symlink():
            link.symlink_to("..data/config.json")
        return link
