"""The failover policy: order of actions, cooldown, hourly cap, recovery, restart idempotency."""

from __future__ import annotations

import datetime as dt

from spyops.operator.vpnlink.failover import (
    HISTORY_MAX,
    Decision,
    PlannedAction,
    begin_action,
    decide,
    finish_action,
    prune_history,
)
from spyops.operator.vpnlink.health import HealthState
from spyops.operator.vpnlink.model import (
    ActionName,
    ActionRecord,
    ActionResult,
    FailoverPolicy,
    LinkHealth,
    OutboundState,
    VpnLinkStatus,
)

T0 = dt.datetime(2026, 11, 21, 14, 0, tzinfo=dt.UTC)
POLICY = FailoverPolicy(
    failure_threshold=3,
    recovery_threshold=2,
    reset_connection=True,
    reset_gateway=True,
    cooldown_seconds=300,
    max_actions_per_hour=3,
)
DOWN = HealthState(LinkHealth.DOWN, T0, 3, 0)
HEALTHY = HealthState(LinkHealth.HEALTHY, T0, 0, 2)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def perform(
    history: list[ActionRecord],
    decision: Decision,
    now: dt.datetime,
    result: ActionResult = ActionResult.SUCCEEDED,
) -> list[ActionRecord]:
    assert decision.action is not None
    history, started = begin_action(history, decision.action, now)
    history, _ = finish_action(history, started, result, "done")
    return history


def test_down_resets_connection_then_switches_then_notifies_then_waits() -> None:
    history: list[ActionRecord] = []
    outbound = OutboundState.DIRECT
    d = decide(DOWN, outbound, POLICY, history, at(1))
    assert d.action == PlannedAction(ActionName.RESET_CONNECTION, reason=d.action.reason if d.action else "")
    history = perform(history, d, at(1))
    d = decide(DOWN, outbound, POLICY, history, at(2))
    assert d.action is not None
    assert (d.action.action, d.action.target) == (ActionName.SWITCH_OUTBOUND, "buffering")
    history = perform(history, d, at(2))
    outbound = OutboundState.BUFFERING
    d = decide(DOWN, outbound, POLICY, history, at(3))
    assert d.action is not None
    assert (d.action.action, d.action.target) == (ActionName.NOTIFY, "down")
    history = perform(history, d, at(3))
    d = decide(DOWN, outbound, POLICY, history, at(4))
    assert d.action is None
    assert d.held_back == "CooldownActive"
    assert d.next_eligible_at == at(301)
    # after the cooldown the ladder escalates to the gateway
    d = decide(DOWN, outbound, POLICY, history, at(301))
    assert d.action is not None
    assert d.action.action is ActionName.RESET_GATEWAY
    history = perform(history, d, at(301))
    d = decide(DOWN, outbound, POLICY, history, at(601))
    assert d.action is not None
    assert d.action.action is ActionName.RESET_CONNECTION
    history = perform(history, d, at(601))
    # three resets in the hour: the cap holds even after the cooldown
    d = decide(DOWN, outbound, POLICY, history, at(1000))
    assert d.action is None
    assert d.held_back == "ActionCapReached"
    assert d.next_eligible_at == at(3601)
    d = decide(DOWN, outbound, POLICY, history, at(3602))
    assert d.action is not None
    assert d.action.action is ActionName.RESET_GATEWAY


def test_backup_route_and_no_resets() -> None:
    policy = FailoverPolicy(
        reset_connection=False,
        reset_gateway=False,
        outbound_action="backup",
        backup_url="https://backup.example",
    )
    d = decide(DOWN, OutboundState.DIRECT, policy, [], at(1))
    assert d.action is not None
    assert (d.action.action, d.action.target) == (ActionName.SWITCH_OUTBOUND, "backup")


def test_recovery_restores_outbound_then_notifies_once() -> None:
    history: list[ActionRecord] = []
    for seconds, planned in (
        (1, PlannedAction(ActionName.RESET_CONNECTION)),
        (2, PlannedAction(ActionName.SWITCH_OUTBOUND, "buffering")),
        (3, PlannedAction(ActionName.NOTIFY, "down")),
    ):
        history = perform(history, Decision(planned), at(seconds))
    d = decide(HEALTHY, OutboundState.BUFFERING, POLICY, history, at(100))
    assert d.action is not None
    assert (d.action.action, d.action.target) == (ActionName.RESTORE_OUTBOUND, "direct")
    history = perform(history, d, at(100))
    d = decide(HEALTHY, OutboundState.DIRECT, POLICY, history, at(101))
    assert d.action is not None
    assert (d.action.action, d.action.target) == (ActionName.NOTIFY, "recovered")
    history = perform(history, d, at(101))
    assert decide(HEALTHY, OutboundState.DIRECT, POLICY, history, at(102)).action is None


def test_degraded_and_unknown_take_no_action() -> None:
    degraded = HealthState(LinkHealth.DEGRADED, T0, 2, 0)
    assert decide(degraded, OutboundState.DIRECT, POLICY, [], at(1)).action is None
    assert decide(HealthState(), OutboundState.DIRECT, POLICY, [], at(1)).action is None


def test_restart_during_a_reset_does_not_repeat_it() -> None:
    # The operator persisted "ResetConnection Started" and died before finishing.
    history, started = begin_action([], PlannedAction(ActionName.RESET_CONNECTION), at(10))
    persisted = VpnLinkStatus(
        health=LinkHealth.DOWN, health_since=T0, consecutive_failures=3, action_history=history
    ).model_dump(mode="json", by_alias=True)
    # ... a new operator process reads the status back and decides again.
    restored = VpnLinkStatus.model_validate(persisted)
    assert restored.action_history[0].result is ActionResult.STARTED
    state = HealthState(restored.health, restored.health_since, restored.consecutive_failures, 0)
    d = decide(state, restored.outbound, POLICY, restored.action_history, at(20))
    assert d.action is not None
    assert d.action.action is ActionName.SWITCH_OUTBOUND  # not another reset
    assert decide(
        state, OutboundState.BUFFERING, POLICY, restored.action_history, at(20)
    ).action == PlannedAction(ActionName.NOTIFY, "down", "link Down")
    history = perform(restored.action_history, Decision(PlannedAction(ActionName.NOTIFY, "down")), at(21))
    d = decide(state, OutboundState.BUFFERING, POLICY, history, at(200))
    assert d.action is None
    assert d.held_back == "CooldownActive"
    assert started.time == at(10)


def test_cooldown_spans_episodes() -> None:
    history = perform([], Decision(PlannedAction(ActionName.RESET_CONNECTION)), at(0))
    second_episode = HealthState(LinkHealth.DOWN, at(120), 3, 0)
    d = decide(second_episode, OutboundState.BUFFERING, POLICY, history, at(130))
    assert d.action is not None
    assert d.action.action is ActionName.NOTIFY  # the reset waits; the notice for this episode goes out
    history = perform(history, d, at(130))
    assert (
        decide(second_episode, OutboundState.BUFFERING, POLICY, history, at(299)).held_back
        == "CooldownActive"
    )
    d = decide(second_episode, OutboundState.BUFFERING, POLICY, history, at(300))
    assert d.action is not None
    assert d.action.action is ActionName.RESET_CONNECTION  # a new episode starts the ladder again


def test_failed_notice_is_retried_later() -> None:
    history = perform([], Decision(PlannedAction(ActionName.NOTIFY, "down")), at(0), ActionResult.FAILED)
    policy = FailoverPolicy(reset_connection=False)
    assert decide(DOWN, OutboundState.BUFFERING, policy, history, at(60)).action is None
    d = decide(DOWN, OutboundState.BUFFERING, policy, history, at(301))
    assert d.action is not None
    assert d.action.action is ActionName.NOTIFY


def test_zero_cap_means_no_resets() -> None:
    policy = FailoverPolicy(max_actions_per_hour=0)
    d = decide(DOWN, OutboundState.BUFFERING, policy, [], at(0))
    assert d.action is not None
    assert d.action.action is ActionName.NOTIFY
    history = perform([], d, at(0))
    assert decide(DOWN, OutboundState.BUFFERING, policy, history, at(1)).held_back == "ActionCapReached"


def test_finish_replaces_the_started_record() -> None:
    history, started = begin_action([], PlannedAction(ActionName.RESET_GATEWAY), at(5))
    history, done = finish_action(history, started, ActionResult.FAILED, "nope")
    assert history == [done]
    assert done.time == at(5)
    assert done.result is ActionResult.FAILED


def test_prune_keeps_a_day_bounded_and_the_latest_of_each() -> None:
    old = ActionRecord(
        time=at(-3 * 86400), action=ActionName.NOTIFY, result=ActionResult.SUCCEEDED, target="down"
    )
    older_reset = ActionRecord(
        time=at(-2 * 86400), action=ActionName.RESET_GATEWAY, result=ActionResult.SUCCEEDED
    )
    newer_reset = ActionRecord(
        time=at(-1.5 * 86400), action=ActionName.RESET_GATEWAY, result=ActionResult.SUCCEEDED
    )
    many = [
        ActionRecord(time=at(i), action=ActionName.RESET_CONNECTION, result=ActionResult.SUCCEEDED)
        for i in range(HISTORY_MAX + 20)
    ]
    kept = prune_history([old, older_reset, newer_reset, *many], at(HISTORY_MAX + 20))
    assert len(kept) == HISTORY_MAX
    assert old in kept
    assert newer_reset in kept
    assert older_reset not in kept
    assert kept[-1] == many[-1]
