"""A bot replica's slot in the strategy's state volume, so a replacement pod adopts what a deleted one left.

The bots are a Deployment: pod names change when a pod is replaced, so state cannot be keyed by name. The
operator mounts one claim in every replica (``--state-dir``); each process holds an exclusive ``flock`` on
the first free ``slot-<i>/lock`` for its whole life, and keeps its journal and outbox in that slot. The
kernel drops the lock when the process dies (SIGKILL included), so the next replica to start takes the
slot over with its journal and unsent outbox items. A slot nobody adopts (a replacement that started while
the old pod still held its lock) is drained by the running replicas: its pending outbox items move into
theirs (:func:`adopt_orphans`), so nothing waits for a pod that will never come.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from spyops.outbox.store import OutboxStore

log = logging.getLogger("spyops.bot.slots")

MAX_SLOTS = 64
JOURNAL_FILE = "journal.sqlite"
OUTBOX_FILE = "outbox.sqlite3"


class SlotError(RuntimeError):
    """No slot can be taken; the message says where and why."""


@dataclass
class Slot:
    index: int
    path: Path
    _fd: int = field(repr=False)

    @property
    def journal(self) -> Path:
        return self.path / JOURNAL_FILE

    @property
    def outbox(self) -> Path:
        return self.path / OUTBOX_FILE

    def release(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def _try_lock(directory: Path) -> int | None:
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def slot_dirs(root: Path) -> list[Path]:
    """The slots that exist under ``root``, by index."""
    found = [p for p in root.glob("slot-*") if p.is_dir() and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]))


def acquire_slot(root: Path, limit: int = MAX_SLOTS) -> Slot:
    """The lowest free slot under ``root``, held until :meth:`Slot.release` or the process ends."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        for index in range(limit):
            directory = root / f"slot-{index}"
            fd = _try_lock(directory)
            if fd is not None:
                return Slot(index, directory, fd)
    except OSError as exc:
        raise SlotError(f"--state-dir {root}: cannot take a slot ({exc.strerror or exc})") from exc
    raise SlotError(f"--state-dir {root}: all {limit} slots are held by running replicas")


def adopt_orphans(root: Path, own: Slot, into: OutboxStore) -> int:
    """Move the pending outbox items of every slot no process holds into ``into``; return how many moved.

    Items keep their order within the orphan and their ids (the backend dedupes by id), so a crash in the
    middle sends an item at most once more, never loses one."""
    moved = 0
    for directory in slot_dirs(root):
        if directory == own.path or not (directory / OUTBOX_FILE).exists():
            continue
        fd = _try_lock(directory)
        if fd is None:
            continue  # a live replica holds it and drains it itself
        try:
            orphan = OutboxStore(directory / OUTBOX_FILE)
            try:
                while batch := orphan.head_batch(500):
                    for item in batch:
                        into.enqueue(item.kind, json.loads(item.payload), item.item_id)
                    orphan.acknowledge(batch)
                    moved += len(batch)
            finally:
                orphan.close()
        finally:
            os.close(fd)
    if moved:
        log.info("adopted outbox items of slots no replica holds", extra={"items": moved})
    return moved
