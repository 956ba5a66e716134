"""The top of a py-spy profile: collapsed stacks (``py-spy record --format raw``) summed by function,
both where the time was spent (self) and what was on the stack (total). Pure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def _frames(stack: str) -> list[str]:
    # py-spy writes "function (file:line)"; the line number splits one function into many rows.
    frames = []
    for frame in stack.split(";"):
        name, _, where = frame.partition(" (")
        path = where.rstrip(")").rpartition(":")[0]
        frames.append(f"{name} ({path.rpartition('site-packages/')[2]})" if path else name)
    return frames


# Leaves where a thread waits rather than works: the event loop's poll, an idle executor thread.
IDLE_LEAVES = frozenset({"EpollSelector.select", "_worker", "Condition.wait", "Event.wait"})


def summarize_collapsed(lines: Iterable[str], top: int = 15) -> dict[str, Any]:
    """Shares of the busy samples (idle ones are counted apart). ``top_total`` leaves out the frames on
    nearly every stack (the entry point down to the event loop), which say nothing."""
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    samples = idle = 0
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if frames[-1].partition(" (")[0] in IDLE_LEAVES:
            idle += count
            continue
        samples += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            total_time[frame] += count
    everywhere = 0.9 * max(total_time.values(), default=0)  # the entry point's share, or near it
    telling = Counter({name: n for name, n in total_time.items() if n < everywhere})

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "percent": round(100 * n / max(1, samples), 1)}
            for name, n in counter.most_common(top)
        ]

    return {
        "busy_samples": samples,
        "idle_samples": idle,
        "top_self": share(self_time),
        "top_total": share(telling),
    }
