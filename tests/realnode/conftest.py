"""The real node for this package's tests: one per module that asks for it, torn down afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spyops.cluster.testing import RealNodeKube, real_node_cluster


@pytest.fixture(scope="module")
def real_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealNodeKube]:
    """A control plane with a real node and the spyops images loaded (fails, never skips, naming what
    this machine lacks)."""
    with real_node_cluster(tmp_path_factory.mktemp("realnode")) as cluster:
        yield cluster
