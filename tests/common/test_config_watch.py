"""The shared ConfigMap watcher: the kubelet's ..data swap, in-place rewrites, bad files, the poll loop."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from spyops.common.config_watch import ConfigWatcher
from tests.common.configmap import ConfigMapVolume


def parse_limit(path: Path) -> int:
    """A caller's parser: a JSON object with a positive "limit"; ValueError names what is wrong."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))["limit"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a config with a limit: {exc}") from exc
    if not isinstance(value, int) or value <= 0:
        raise ValueError(f"{path}: limit must be a positive integer, got {value!r}")
    return value


def test_the_symlink_swap_is_seen_even_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    volume = ConfigMapVolume(tmp_path)
    path = volume.publish('{"limit": 1}')
    changes: list[tuple[int, int]] = []
    watcher = ConfigWatcher(path, parse_limit(path), parse_limit, lambda o, n: changes.append((o, n)))
    assert not watcher.poll(), "nothing changed yet"

    link = os.lstat(path)
    path = volume.publish('{"limit": 2}')  # same size as before
    first = tmp_path / "..2026_11_20_10_00_01" / "config.json"
    os.utime(path, ns=(first.stat().st_mtime_ns,) * 2)  # and the same mtime: only the target moved
    # the config.json link itself did not change: watching it alone would miss the swap
    assert (os.lstat(path).st_ino, os.lstat(path).st_mtime_ns) == (link.st_ino, link.st_mtime_ns)
    assert watcher.poll()
    assert changes == [(1, 2)]
    assert watcher.current == 2
    assert watcher.reloads == 1


def test_a_bad_file_keeps_the_last_good_config_and_is_reported_once(tmp_path: Path) -> None:
    volume = ConfigMapVolume(tmp_path)
    path = volume.publish('{"limit": 5}')
    errors: list[str] = []
    watcher = ConfigWatcher(path, 5, parse_limit, lambda _o, _n: None, on_error=errors.append)

    volume.publish('{"limit": -3}')
    assert not watcher.poll()
    assert watcher.current == 5, "the last good config stays in force"
    assert errors == [f"{path}: limit must be a positive integer, got -3"]
    assert watcher.last_error == errors[0]
    assert watcher.errors == 1
    os.utime(path)  # touched, same bytes: not reported again
    assert not watcher.poll()
    assert watcher.errors == 1

    volume.publish('{"limit": 7}')
    assert watcher.poll()
    assert watcher.current == 7
    assert watcher.last_error == ""


def test_in_place_rewrites_same_bytes_and_a_vanished_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"limit": 1}', encoding="utf-8")
    seen: list[int] = []
    watcher = ConfigWatcher(path, 1, parse_limit, lambda _o, n: seen.append(n))
    path.write_text('{"limit": 1} ', encoding="utf-8")
    path.write_text('{"limit": 1}', encoding="utf-8")  # back to the bytes it started with
    assert not watcher.poll()
    path.write_text('{"limit": 9}', encoding="utf-8")
    os.utime(path, ns=(1, 1))  # even within one mtime tick the stamp moves
    assert watcher.poll()
    assert seen == [9]
    path.unlink()
    assert not watcher.poll(), "a vanished file keeps the current config"
    assert watcher.current == 9


async def test_run_polls_on_its_interval(tmp_path: Path) -> None:
    volume = ConfigMapVolume(tmp_path)
    path = volume.publish('{"limit": 1}')
    applied = asyncio.Event()
    watcher = ConfigWatcher(path, 1, parse_limit, lambda _o, _n: applied.set(), interval=0.01)
    task = asyncio.create_task(watcher.run())
    try:
        volume.publish('{"limit": 3}')
        await asyncio.wait_for(applied.wait(), timeout=5)
        assert watcher.current == 3
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
