"""The trading bot: turns detector signals into paper orders under strict risk limits.

One process per replica. All replicas subscribe to the signal stream and stay
connected to the gateway; only the holder of the strategy's Lease places orders.
Every order intent is journaled (SQLite) before it is sent, and the journal is
reconciled with the gateway before any order may be placed.
"""
