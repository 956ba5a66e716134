"""The detector as a user of the shared config watcher: a swap applies new scan parameters; bad files keep the old."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from spyops.common.config_watch import ConfigWatcher
from spyops.detector.config import DetectorConfig, DetectorConfigError, load_detector_config
from spyops.schemas import AnomalyKind
from tests.common.configmap import ConfigMapVolume

BASE: dict[str, Any] = {
    "strategy": "trading/alpha",
    "gateway": {"host": "127.0.0.1", "port": 4002, "client_id_base": 100},
    "lease_name": "alpha-leader",
}


def _text(**detector: object) -> str:
    return json.dumps({**BASE, "detector": detector})


def test_symlink_swap_applies_and_a_bad_file_keeps_the_old_config(tmp_path: Path) -> None:
    volume = ConfigMapVolume(tmp_path)
    path = volume.publish(_text(min_edge=5.0))
    changes: list[tuple[DetectorConfig, DetectorConfig]] = []
    errors: list[str] = []
    watcher = ConfigWatcher(
        path,
        load_detector_config(path),
        load_detector_config,
        lambda o, n: changes.append((o, n)),
        on_error=errors.append,
    )
    assert not watcher.poll()  # nothing changed

    volume.publish(_text(min_edge=50.0, rules={"parity": False}))
    assert watcher.poll()
    old, new = changes[-1]
    assert old.runtime.detector.min_edge == 5.0
    assert new.runtime.detector.min_edge == 50.0
    assert new.params.min_edge == 50.0
    assert AnomalyKind.PARITY not in new.params.enabled

    volume.publish('{"strategy": "trading/alpha", ')  # truncated
    assert not watcher.poll()
    assert "not JSON" in errors[-1]
    assert watcher.current.runtime.detector.min_edge == 50.0
    assert not watcher.poll()  # the same bad file is reported once

    volume.publish(_text(rules={"no_such_rule": True}))
    assert not watcher.poll()
    assert "no_such_rule" in errors[-1]
    assert "detector.rules" in errors[-1]

    volume.publish(_text(max_market_data_lines=1))
    assert not watcher.poll()
    assert "detector.max_market_data_lines" in errors[-1]
    assert len(changes) == 1
    assert len(errors) == 3

    volume.publish(_text(min_edge=7.0))  # a good file after bad ones applies
    assert watcher.poll()
    assert watcher.current.runtime.detector.min_edge == 7.0


def test_an_in_place_rewrite_is_seen_too(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(_text(min_edge=5.0), encoding="utf-8")
    seen: list[float] = []
    watcher = ConfigWatcher(
        path,
        load_detector_config(path),
        load_detector_config,
        lambda _o, n: seen.append(n.runtime.detector.min_edge),
    )
    path.write_text(_text(min_edge=6.5), encoding="utf-8")
    os.utime(path, ns=(1, 1))  # even within one mtime tick the stamp moves
    assert watcher.poll()
    assert seen == [6.5]


def test_load_names_the_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    with pytest.raises(DetectorConfigError, match="cannot read"):
        load_detector_config(path)
    path.write_text(json.dumps({**BASE, "gateway": {"host": "x", "port": 0}}), encoding="utf-8")
    with pytest.raises(DetectorConfigError, match=r"gateway\.port"):
        load_detector_config(path)
