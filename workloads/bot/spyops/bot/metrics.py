"""The bot's Prometheus metrics, on a registry of its own (one per process, or per bot in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from spyops.bot.gateway import ConnectionState
from spyops.bot.risk import DenyReason

# Signal-to-order is a few milliseconds when healthy; the buckets resolve 0.5 ms to 1 s.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class BotMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.signals_received = Counter(
            "spyops_bot_signals_received", "Signals received from the detector stream.", registry=r
        )
        self.signals_skipped = Counter(
            "spyops_bot_signals_skipped",
            "Signals not considered for trading, by reason.",
            ["reason"],
            registry=r,
        )
        self.orders = Counter(
            "spyops_bot_orders",
            "Orders by outcome (submitted, filled, cancelled, ...).",
            ["outcome"],
            registry=r,
        )
        self.fills = Counter("spyops_bot_fills", "Executions (fills) received.", registry=r)
        self.denials = Counter(
            "spyops_bot_risk_denials", "Signals denied by the risk engine, by reason.", ["reason"], registry=r
        )
        for reason in DenyReason:
            self.denials.labels(reason.value)
        self.open_positions = Gauge(
            "spyops_bot_open_positions", "Contracts with a non-zero position.", registry=r
        )
        self.realized_pnl = Gauge(
            "spyops_bot_realized_pnl_dollars", "Realized P&L today, dollars.", registry=r
        )
        self.daily_pnl = Gauge(
            "spyops_bot_daily_pnl_dollars", "Realized + marked-to-market P&L today, dollars.", registry=r
        )
        self.working_orders = Gauge("spyops_bot_working_orders", "Orders working at the gateway.", registry=r)
        self.signal_to_order = Histogram(
            "spyops_bot_tick_to_order_seconds",
            "From the detector's detection time of a signal to the bot's placeOrder (same-node clocks).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.decision_seconds = Histogram(
            "spyops_bot_decision_seconds",
            "The bot's own time from receiving a signal to the last placeOrder of its legs.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.journal_seconds = Histogram(
            "spyops_bot_journal_write_seconds",
            "Durable (fsynced) write of a signal's order intents, inside the decision time.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.connection_state = Gauge(
            "spyops_bot_ib_connection_state",
            "1 for the current gateway connection state.",
            ["state"],
            registry=r,
        )
        for state in ConnectionState:
            self.connection_state.labels(state.value).set(1 if state is ConnectionState.DISCONNECTED else 0)
        self.leader = Gauge(
            "spyops_bot_leader", "1 while this replica holds the Lease and may trade.", registry=r
        )
        self.reconciliations = Counter(
            "spyops_bot_reconciliations", "Journal/gateway reconciliations by result.", ["result"], registry=r
        )
        self.config_reloads = Counter(
            "spyops_bot_config_reloads", "Runtime config reloads applied.", registry=r
        )
        self.config_errors = Counter(
            "spyops_bot_config_reload_errors", "New runtime configs rejected as invalid.", registry=r
        )
        self.trading_state = Gauge(
            "spyops_bot_trading_state", "1 for the enforced trading state.", ["state"], registry=r
        )
        # For alerts: loss as a fraction of the limit, and "market data stale" only while trading.
        self.max_daily_loss = Gauge(
            "spyops_bot_max_daily_loss_dollars",
            "The max daily loss risk limit in force, dollars.",
            registry=r,
        )
        self.trading_hours_open = Gauge(
            "spyops_bot_trading_hours_open",
            "1 while the market clock is inside the strategy's trading hours.",
            registry=r,
        )

    def set_connection_state(self, current: ConnectionState) -> None:
        for state in ConnectionState:
            self.connection_state.labels(state.value).set(1 if state is current else 0)
