"""Backend benchmark: live fan-out to 1,000 WebSocket clients and store ingest rates; prints JSON.

Same as `spyops bench backend` (the code lives in spyops.backend.bench):
    .venv/bin/python benchmarks/backend.py [--clients 1000 --rounds 5 --ingest-signals 2000]
"""

from spyops.bench.cli import app

if __name__ == "__main__":
    app(["backend", *__import__("sys").argv[1:]])
