"""Which node the demo runs its pods on, and the one line that says so."""

from __future__ import annotations

import pytest

from spyops.demo.realnode import NodeMode, choose, real_node_missing


def test_kwok_is_asked_for_by_name() -> None:
    real, line = choose(NodeMode.KWOK)
    assert not real
    assert line == "pods: local processes on kwok's simulated node (--node kwok)"


def test_auto_follows_what_this_machine_can_run() -> None:
    missing = real_node_missing()
    real, line = choose(NodeMode.AUTO)
    assert real is (missing is None)
    assert "\n" not in line
    if missing is None:
        assert line.startswith("pods: real containers on the real node")
    else:
        assert line.endswith(missing)
        with pytest.raises(RuntimeError, match="--node real: this machine cannot run the real node"):
            choose(NodeMode.REAL)
