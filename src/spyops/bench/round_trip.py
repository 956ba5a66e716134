"""One ib_async request round trip through a gateway, timed: the floor of any order path.

Run as its own process (``python -m spyops.bench.round_trip --port P``), as the bot is, so the
time includes what every hop of the real path pays: a wake-up on each side, the TWS framing,
the gateway's request handling. ``reqCurrentTime`` is the cheapest request the gateway answers.
Prints one JSON list of seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time


async def measure(host: str, port: int, client_id: int, samples: int) -> list[float]:
    from ib_async import IB

    ib = IB()
    await ib.connectAsync(host, port, clientId=client_id, timeout=20)
    try:
        ib.client.MaxRequests = 0  # one request at a time stays far below IB's rate anyway
        for _ in range(5):  # warm up
            await ib.reqCurrentTimeAsync()
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            await ib.reqCurrentTimeAsync()
            times.append(time.perf_counter() - started)
        return times
    finally:
        ib.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", type=int, default=990)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.host, args.port, args.client_id, args.samples))))


if __name__ == "__main__":
    main()
