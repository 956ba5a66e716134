"""One ib_async request round trip through a gateway, timed: the floor of any order path.

Run as its own process (``python -m spyops.bench.round_trip --port P``), as the bot is, so the
time includes what every hop of the real path pays: a wake-up on each side, the TWS framing,
the gateway's request handling. ``reqCurrentTime`` is the cheapest request the gateway answers.
Requests are spaced 25 ms apart: IB (and the simulator) refuse more than 50 messages a second,
and ib_async would queue past 45, which would time its throttle, not the round trip.
Prints one JSON list of seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

SPACING_SECONDS = 0.025


async def measure(host: str, port: int, client_id: int, samples: int) -> list[float]:
    from ib_async import IB

    ib = IB()
    await ib.connectAsync(host, port, clientId=client_id, timeout=20)
    try:
        times = []
        for index in range(5 + samples):  # 5 to warm up
            await asyncio.sleep(SPACING_SECONDS)
            started = time.perf_counter()
            try:
                await asyncio.wait_for(ib.reqCurrentTimeAsync(), 10)
            except TimeoutError:
                raise RuntimeError(f"reqCurrentTime #{index} got no answer within 10 s") from None
            if index >= 5:
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
