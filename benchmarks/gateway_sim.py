"""Gateway simulator benchmark; same as `spyops bench gateway-sim` (prints JSON)."""

from spyops.bench.cli import app

if __name__ == "__main__":
    app(["gateway-sim"])
