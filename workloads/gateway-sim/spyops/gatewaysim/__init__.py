"""Paper IB Gateway simulator that speaks the TWS API wire protocol.

The real ``ib_async`` client runs against it unmodified. Market data comes from the
shared market model (``spyops.market``); orders fill only when marketable against the
simulated quotes; state (orders, executions, positions) survives reconnects and
simulated gateway restarts.
"""
