"""Prometheus metrics of the simulator, in their own registry (tests run several gateways)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Counter("gatewaysim_connections", "TCP connections accepted", registry=r)
        self.connected_clients = Gauge(
            "gatewaysim_connected_clients", "API clients with a started session", registry=r
        )
        self.messages_in = Counter(
            "gatewaysim_messages_in", "Requests received, by TWS message id", ["msg_id"], registry=r
        )
        self.bad_messages = Counter("gatewaysim_bad_messages", "Requests refused as malformed", registry=r)
        self.unsupported_requests = Counter(
            "gatewaysim_unsupported_requests", "Requests of a kind the simulator does not serve", registry=r
        )
        self.handler_failures = Counter(
            "gatewaysim_handler_failures", "Requests whose handler failed unexpectedly (bugs)", registry=r
        )
        self.protocol_violations = Counter(
            "gatewaysim_protocol_violations", "Connections dropped for unusable byte streams", registry=r
        )
        self.pacing_violations = Counter(
            "gatewaysim_pacing_violations", "Requests refused for exceeding 50 messages/second", registry=r
        )
        self.errors = Counter(
            "gatewaysim_errors_sent", "Error and notice messages sent, by code", ["code"], registry=r
        )
        self.orders = Counter("gatewaysim_orders", "Order events, by kind", ["event"], registry=r)
        self.executions = Counter("gatewaysim_executions", "Executions (fills) reported", registry=r)
        self.ticks_out = Counter("gatewaysim_ticks_sent", "Market data tick messages sent", registry=r)
        self.quote_updates = Counter(
            "gatewaysim_quote_updates_sent",
            "Ticker refreshes sent: one per subscription whose contract changed in a publish cycle",
            registry=r,
        )
        self.market_data_lines = Gauge(
            "gatewaysim_market_data_lines",
            "Distinct contracts streamed (the account's line usage)",
            registry=r,
        )
        self.anomalies = Counter(
            "gatewaysim_anomalies_injected", "Anomalies injected, by kind", ["kind"], registry=r
        )
        self.session_time = Gauge(
            "gatewaysim_session_time_seconds", "Simulated session time (epoch)", registry=r
        )
        self.market_lag = Gauge(
            "gatewaysim_market_lag_seconds",
            "How far the market model is behind the session clock",
            registry=r,
        )
        self.order_to_fill_seconds = Histogram(
            "gatewaysim_order_to_fill_seconds",
            "From a marketable placeOrder's arrival to its fill being written to the client",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05),
            registry=r,
        )
        self.cycle_seconds = Histogram(
            "gatewaysim_market_cycle_seconds",
            "Time to step the model and publish one cycle",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
            registry=r,
        )
