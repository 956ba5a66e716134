"""Operator benchmark; same as `spyops bench operator`. Prints JSON.

python benchmarks/operator_bench.py [latency_samples] [bulk]
"""

from __future__ import annotations

import sys
import time

from spyops.operator.bench import BenchConfig, main

if __name__ == "__main__":
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    bulk = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    main(
        BenchConfig(
            namespace=f"bench-{int(time.time())}", latency_samples=samples, bulk=bulk, failover_bulk=bulk
        )
    )
