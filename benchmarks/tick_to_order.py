"""Tick-to-order benchmark (prints JSON): same as `spyops bench tick-to-order` (tracing off, sampled, full)."""

from __future__ import annotations

import asyncio
import json
import sys

from spyops.bench.tick_to_order import run

if __name__ == "__main__":
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    print(json.dumps(asyncio.run(run(samples=samples)), indent=2))
