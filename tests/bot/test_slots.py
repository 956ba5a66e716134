"""State slots: a replica's journal and outbox survive its process, and a replacement adopts them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spyops.bot.slots import SlotError, acquire_slot, adopt_orphans
from spyops.outbox.store import OutboxStore

_HOLD = """
import sys, time
from pathlib import Path
from spyops.bot.slots import acquire_slot
slot = acquire_slot(Path(sys.argv[1]))
print(slot.index, flush=True)
time.sleep(60)
"""


def test_live_replicas_get_distinct_slots_and_a_killed_ones_slot_is_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "0"
        second = acquire_slot(tmp_path)
        assert second.index == 1  # slot 0 is held by a live process
        holder.kill()  # SIGKILL: the kernel drops its lock
        holder.wait(timeout=10)
        third = acquire_slot(tmp_path)
        assert third.index == 0  # the replacement adopts the dead replica's slot
        second.release()
        third.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


def test_orphaned_outbox_items_move_to_a_live_replica_in_order(tmp_path: Path) -> None:
    gone = acquire_slot(tmp_path)
    orphan = OutboxStore(gone.outbox)
    for i in range(3):
        orphan.enqueue("execution", {"id": f"x{i}", "n": i})
    orphan.enqueue("signal", {"id": "s0"})
    orphan.close()
    live = acquire_slot(tmp_path)
    mine = OutboxStore(live.outbox)
    assert adopt_orphans(tmp_path, live, mine) == 0  # its replica still holds the slot
    gone.release()
    assert adopt_orphans(tmp_path, live, mine) == 4
    assert [i.item_id for i in mine.head_batch(10)] == ["x0", "x1", "x2"]
    assert mine.pending_count() == {"execution": 3, "signal": 1}
    assert OutboxStore(gone.outbox).pending_count() == {}
    assert adopt_orphans(tmp_path, live, mine) == 0
    live.release()


def test_no_free_slot_is_one_clear_error(tmp_path: Path) -> None:
    held = acquire_slot(tmp_path, limit=1)
    with pytest.raises(SlotError, match="all 1 slots are held"):
        acquire_slot(tmp_path, limit=1)
    held.release()
