"""The four spyops dashboards (operator, trading, IBKR gateway, VPN link), as data."""

from __future__ import annotations

from spyops.monitoring.dashboard_model import Dashboard, Panel, Query, Variable

# Series of a strategy's workloads carry namespace and strategy (see the alert rules' header).
S = 'namespace=~"$namespace", strategy=~"$strategy"'
RATE = "[$__rate_interval]"
NAMESPACE = Variable("namespace", "spyops_bot_leader", "namespace")
STRATEGY = Variable("strategy", 'spyops_bot_leader{namespace=~"$namespace"}', "strategy")
# The leader's series only: the standbys' P&L gauges are not the strategy's.
LEADER = f"on (namespace, strategy, pod) (spyops_bot_leader{{{S}}} == 1)"


def _q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


OPERATOR = Dashboard(
    uid="spyops-operator",
    title="spyops / Operator",
    description="Reconciles, work queues, errors and leadership of the spyops operator.",
    panels=(
        Panel(
            "Reconciles per second",
            (
                _q(
                    f"sum by (controller, result) (rate(controller_runtime_reconcile_total{RATE}))",
                    "{{controller}} {{result}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            "Reconcile time p50 / p99",
            (
                _q(
                    "histogram_quantile(0.5, sum by (controller, le) "
                    f"(rate(controller_runtime_reconcile_time_seconds_bucket{RATE})))",
                    "p50 {{controller}}",
                ),
                _q(
                    "histogram_quantile(0.99, sum by (controller, le) "
                    f"(rate(controller_runtime_reconcile_time_seconds_bucket{RATE})))",
                    "p99 {{controller}}",
                ),
            ),
            unit="s",
        ),
        Panel("Work queue depth", (_q("sum by (name) (workqueue_depth)", "{{name}}"),)),
        Panel(
            "Reconcile errors per second",
            (
                _q(
                    f"sum by (controller) (rate(controller_runtime_reconcile_errors_total{RATE}))",
                    "{{controller}}",
                ),
            ),
            unit="ops",
        ),
        Panel("Leader", (_q("max(spyops_operator_leader)", "leader held"),), kind="stat", width=6, height=5),
        Panel(
            "Resources by phase",
            (_q("sum by (kind, phase) (spyops_operator_managed_objects)", "{{kind}} {{phase}}"),),
            kind="stat",
            width=18,
            height=5,
        ),
        Panel(
            "Child applies per second (new or drifted)",
            (
                _q(
                    f"sum by (kind, reason) (rate(spyops_operator_child_applies_total{RATE}))",
                    "{{kind}} {{reason}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            "Work queue wait p99",
            (
                _q(
                    "histogram_quantile(0.99, sum by (name, le) "
                    f"(rate(workqueue_queue_duration_seconds_bucket{RATE})))",
                    "{{name}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Operator memory",
            (_q('process_resident_memory_bytes{component="operator"}', "{{instance}}"),),
            unit="bytes",
        ),
    ),
)

TRADING = Dashboard(
    uid="spyops-trading",
    title="spyops / Trading",
    description="Signals, orders, fills, P&L, risk state and latencies of each strategy.",
    variables=(NAMESPACE, STRATEGY),
    panels=(
        Panel(
            "Signals published per minute",
            (
                _q(
                    f"sum by (strategy) (rate(spyops_detector_signals_published_total{{{S}}}{RATE})) * 60",
                    "{{strategy}}",
                ),
            ),
        ),
        Panel(
            "Anomalies by rule per minute",
            (_q(f"sum by (rule) (rate(spyops_detector_anomalies_total{{{S}}}{RATE})) * 60", "{{rule}}"),),
        ),
        Panel(
            "Orders by outcome per minute",
            (
                _q(
                    f"sum by (strategy, outcome) (rate(spyops_bot_orders_total{{{S}}}{RATE})) * 60",
                    "{{strategy}} {{outcome}}",
                ),
            ),
        ),
        Panel(
            "Fills per minute",
            (_q(f"sum by (strategy) (rate(spyops_bot_fills_total{{{S}}}{RATE})) * 60", "{{strategy}}"),),
        ),
        Panel(
            "P&L today (leader)",
            (
                _q(
                    f"max by (strategy) (spyops_bot_daily_pnl_dollars{{{S}}} and {LEADER})",
                    "{{strategy}} total",
                ),
                _q(
                    f"max by (strategy) (spyops_bot_realized_pnl_dollars{{{S}}} and {LEADER})",
                    "{{strategy}} realized",
                ),
            ),
            unit="currencyUSD",
        ),
        Panel(
            "Daily loss limit used (leader)",
            (
                _q(
                    f"max by (strategy) (-spyops_bot_daily_pnl_dollars{{{S}}} / spyops_bot_max_daily_loss_dollars{{{S}}}"
                    f" and {LEADER})",
                    "{{strategy}}",
                ),
            ),
            unit="percentunit",
            kind="stat",
            width=6,
        ),
        Panel(
            "Trading state",
            (
                _q(
                    f"max by (strategy, state) (spyops_bot_trading_state{{{S}}}) == 1",
                    "{{strategy}} {{state}}",
                ),
            ),
            kind="stat",
            width=6,
        ),
        Panel(
            "Open positions and working orders (leader)",
            (
                _q(
                    f"max by (strategy) (spyops_bot_open_positions{{{S}}} and {LEADER})",
                    "{{strategy}} positions",
                ),
                _q(
                    f"max by (strategy) (spyops_bot_working_orders{{{S}}} and {LEADER})",
                    "{{strategy}} working",
                ),
            ),
        ),
        Panel(
            "Risk denials per minute",
            (_q(f"sum by (reason) (rate(spyops_bot_risk_denials_total{{{S}}}{RATE})) * 60", "{{reason}}"),),
        ),
        Panel(
            "Detection to order p50 / p99",
            (
                _q(
                    f"histogram_quantile(0.5, sum by (strategy, le) (rate(spyops_bot_tick_to_order_seconds_bucket{{{S}}}{RATE})))",
                    "p50 {{strategy}}",
                ),
                _q(
                    f"histogram_quantile(0.99, sum by (strategy, le) (rate(spyops_bot_tick_to_order_seconds_bucket{{{S}}}{RATE})))",
                    "p99 {{strategy}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Bot decision and journal write p99",
            (
                _q(
                    f"histogram_quantile(0.99, sum by (strategy, le) (rate(spyops_bot_decision_seconds_bucket{{{S}}}{RATE})))",
                    "decision {{strategy}}",
                ),
                _q(
                    "histogram_quantile(0.99, sum by (strategy, le) "
                    f"(rate(spyops_bot_journal_write_seconds_bucket{{{S}}}{RATE})))",
                    "journal {{strategy}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Detector scan and detection delay p99",
            (
                _q(
                    f"histogram_quantile(0.99, sum by (strategy, le) (rate(spyops_detector_scan_seconds_bucket{{{S}}}{RATE})))",
                    "scan {{strategy}}",
                ),
                _q(
                    "histogram_quantile(0.99, sum by (strategy, le) "
                    f"(rate(spyops_detector_detection_delay_seconds_bucket{{{S}}}{RATE})))",
                    "detection delay {{strategy}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Leader bot",
            (_q(f"max by (strategy, pod) (spyops_bot_leader{{{S}}})", "{{strategy}} {{pod}}"),),
            kind="stat",
        ),
    ),
)

GATEWAY = Dashboard(
    uid="spyops-ibkr-gateway",
    title="spyops / IBKR gateway",
    description="Connections to the IB gateway, market-data lines, pacing and reconnects.",
    variables=(NAMESPACE, STRATEGY),
    panels=(
        Panel(
            "Bot connection state",
            (_q(f"max by (pod, state) (spyops_bot_ib_connection_state{{{S}}}) == 1", "{{pod}} {{state}}"),),
            kind="stat",
        ),
        Panel(
            "Detector connected",
            (_q(f"max by (strategy) (spyops_detector_connected{{{S}}})", "{{strategy}}"),),
            kind="stat",
        ),
        Panel(
            "Market-data lines: used and budget",
            (
                _q(f"max by (strategy) (spyops_detector_subscribed_lines{{{S}}})", "{{strategy}} used"),
                _q(f"max by (strategy) (spyops_detector_line_budget{{{S}}})", "{{strategy}} budget"),
            ),
        ),
        Panel(
            "Quotes per second",
            (_q(f"sum by (strategy) (rate(spyops_detector_quotes_total{{{S}}}{RATE}))", "{{strategy}}"),),
        ),
        Panel(
            "Reconnects (detector) and reconciliations (bots) per hour",
            (
                _q(
                    f"sum by (strategy) (increase(spyops_detector_reconnects_total{{{S}}}[1h]))",
                    "{{strategy}} reconnects",
                ),
                _q(
                    f"sum by (strategy, result) (increase(spyops_bot_reconciliations_total{{{S}}}[1h]))",
                    "{{strategy}} reconcile {{result}}",
                ),
            ),
        ),
        Panel(
            "Gateway error and notice codes per minute",
            (
                _q(
                    f"sum by (code) (rate(spyops_detector_gateway_errors_total{{{S}}}{RATE})) * 60",
                    "{{code}}",
                ),
            ),
        ),
        Panel(
            "Pacing violations per minute (simulator)",
            (_q(f"sum by (gateway) (rate(gatewaysim_pacing_violations_total{RATE})) * 60", "{{gateway}}"),),
            description="IB's 50 messages/second; the real IB Gateway reports them as error 100 (panel above).",
        ),
        Panel(
            "Gateway messages in per second (simulator)",
            (_q(f"sum (rate(gatewaysim_messages_in_total{RATE}))", "messages"),),
            unit="ops",
        ),
        Panel(
            "Order to fill p99 (simulator)",
            (
                _q(
                    f"histogram_quantile(0.99, sum by (le) (rate(gatewaysim_order_to_fill_seconds_bucket{RATE})))",
                    "p99",
                ),
            ),
            unit="s",
        ),
        Panel(
            "API clients (simulator)",
            (_q("sum (gatewaysim_connected_clients)", "clients"),),
            kind="stat",
        ),
    ),
)

_L = 'namespace=~"$namespace", vpnlink=~"$vpnlink"'
VPN = Dashboard(
    uid="spyops-vpn-link",
    title="spyops / VPN link",
    description="The site-to-site link to Azure: health, probes, failover actions and the outboxes it feeds.",
    variables=(
        Variable("namespace", "spyops_vpnlink_up", "namespace"),
        Variable("vpnlink", 'spyops_vpnlink_up{namespace=~"$namespace"}', "vpnlink"),
    ),
    panels=(
        Panel(
            "Link health",
            (_q(f"max by (vpnlink, state) (spyops_vpnlink_health{{{_L}}}) == 1", "{{vpnlink}} {{state}}"),),
            kind="stat",
        ),
        Panel(
            "Azure connection status and tunnels",
            (
                _q(
                    f"max by (vpnlink, status) (spyops_vpnlink_azure_connection_status{{{_L}}}) == 1",
                    "{{vpnlink}} {{status}}",
                ),
                _q(f"max by (vpnlink) (spyops_vpnlink_tunnels_connected{{{_L}}})", "{{vpnlink}} tunnels"),
            ),
            kind="stat",
        ),
        Panel(
            "Probe latency p99",
            (
                _q(
                    "histogram_quantile(0.99, sum by (vpnlink, target, le) "
                    f"(rate(spyops_vpnlink_probe_latency_seconds_bucket{{{_L}}}{RATE})))",
                    "{{vpnlink}} {{target}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Failed checks in a row",
            (_q(f"max by (vpnlink) (spyops_vpnlink_consecutive_failures{{{_L}}})", "{{vpnlink}}"),),
        ),
        Panel(
            "Failover actions (last hour)",
            (
                _q(
                    f"sum by (vpnlink, action, result) (increase(spyops_vpnlink_failovers_total{{{_L}}}[1h]))",
                    "{{vpnlink}} {{action}} {{result}}",
                ),
            ),
        ),
        Panel(
            "Outbox pending items",
            (
                _q(
                    'sum by (strategy, component, kind) (spyops_outbox_pending{namespace=~"$namespace"})',
                    "{{strategy}} {{component}} {{kind}}",
                ),
            ),
        ),
        Panel(
            "Outbox oldest item age",
            (
                _q(
                    'max by (strategy, component) (spyops_outbox_oldest_age_seconds{namespace=~"$namespace"})',
                    "{{strategy}} {{component}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Outbox sent per second",
            (
                _q(
                    f'sum by (strategy, component, kind) (rate(spyops_outbox_sent_total{{namespace=~"$namespace"}}{RATE}))',
                    "{{strategy}} {{component}} {{kind}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            "Outbound mode",
            (
                _q(
                    'max by (strategy, component, mode) (spyops_outbox_mode{namespace=~"$namespace"}) == 1',
                    "{{strategy}} {{component}} {{mode}}",
                ),
            ),
            kind="stat",
        ),
    ),
)

DASHBOARDS: tuple[Dashboard, ...] = (OPERATOR, TRADING, GATEWAY, VPN)
