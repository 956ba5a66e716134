"""The failover policy (pure): what to do next, given the link's health and what was already done.

While the link is Down, in this order:

1. reset, if the policy allows one: the connection first, then the gateway, then
   alternating, one step per reset in the Down episode; every reset (of either kind,
   in any episode) waits ``cooldownSeconds`` after the previous one, and at most
   ``maxActionsPerHour`` resets fall in any 60 minutes;
2. switch the dependent strategies' outbound path to ``buffering`` or ``backup``;
3. notify once per episode that the link is down.

When the link is no longer Down: restore the outbound path to ``direct``, then
notify that it recovered (if a down notice went out).

The history is the one the controller keeps in ``status.actionHistory``. An
action is recorded as Started *before* it runs and completed afterwards, so an
operator restart in the middle of a reset sees the Started record and does not
repeat the reset inside its cooldown. Outbound switches are desired state (the
status field ``outbound``) and are idempotent by nature.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from spyops.operator.vpnlink.health import HealthState
from spyops.operator.vpnlink.model import (
    ActionName,
    ActionRecord,
    ActionResult,
    FailoverPolicy,
    LinkHealth,
    OutboundState,
)

HOUR = dt.timedelta(hours=1)
NOTIFY_RETRY = dt.timedelta(minutes=5)
HISTORY_KEEP = dt.timedelta(hours=24)
HISTORY_MAX = 100

RESETS = (ActionName.RESET_CONNECTION, ActionName.RESET_GATEWAY)
NOTICE_DOWN = "down"
NOTICE_RECOVERED = "recovered"


@dataclass(frozen=True)
class PlannedAction:
    action: ActionName
    target: str = ""  # outbound mode for switches, notice kind for notifications
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """The next action, or none; when a reset is held back, why and until when."""

    action: PlannedAction | None
    held_back: str = ""  # "" | "CooldownActive" | "ActionCapReached"
    message: str = ""
    next_eligible_at: dt.datetime | None = None


def _reset_ladder(policy: FailoverPolicy) -> list[ActionName]:
    ladder = []
    if policy.reset_connection:
        ladder.append(ActionName.RESET_CONNECTION)
    if policy.reset_gateway:
        ladder.append(ActionName.RESET_GATEWAY)
    return ladder


def _reset_gate(
    policy: FailoverPolicy, history: Sequence[ActionRecord], now: dt.datetime
) -> tuple[str, str, dt.datetime | None]:
    """("", "", None) when a reset may run now; else (reason, message, next eligible time)."""
    resets = sorted((r for r in history if r.action in RESETS), key=lambda r: r.time)
    cooldown = dt.timedelta(seconds=policy.cooldown_seconds)
    if resets and now - resets[-1].time < cooldown:
        until = resets[-1].time + cooldown
        return (
            "CooldownActive",
            f"last reset ({resets[-1].action.value}) at {resets[-1].time.isoformat()}; "
            f"cooldown of {policy.cooldown_seconds} s until {until.isoformat()}",
            until,
        )
    in_hour = [r for r in resets if now - r.time < HOUR]
    if len(in_hour) >= policy.max_actions_per_hour:
        until = in_hour[0].time + HOUR if in_hour else now + HOUR
        return (
            "ActionCapReached",
            f"{len(in_hour)} resets in the last hour reach the cap of {policy.max_actions_per_hour}; "
            f"next allowed at {until.isoformat()}",
            until,
        )
    return "", "", None


def _notice_sent(records: Sequence[ActionRecord], kind: str, now: dt.datetime) -> bool:
    """A notice of this kind succeeded or is in flight, or failed too recently to retry."""
    for r in records:
        if r.action is not ActionName.NOTIFY or r.target != kind:
            continue
        if r.result is not ActionResult.FAILED or now - r.time < NOTIFY_RETRY:
            return True
    return False


def decide(
    health: HealthState,
    outbound: OutboundState,
    policy: FailoverPolicy,
    history: Sequence[ActionRecord],
    now: dt.datetime,
) -> Decision:
    """The next failover step (see the module docstring); call again after recording it."""
    if health.health is LinkHealth.DOWN:
        episode_start = health.since or now
        in_episode = [r for r in history if r.time >= episode_start]
        held = Decision(None)
        ladder = _reset_ladder(policy)
        if ladder:
            done = sum(1 for r in in_episode if r.action in RESETS)
            step = ladder[done % len(ladder)]
            gate, message, until = _reset_gate(policy, history, now)
            if not gate:
                return Decision(PlannedAction(step, reason=f"link Down since {episode_start.isoformat()}"))
            held = Decision(None, gate, message, until)
        desired = OutboundState(policy.outbound_action.value)
        if outbound is not desired:
            return Decision(PlannedAction(ActionName.SWITCH_OUTBOUND, desired.value, "link Down"))
        if not _notice_sent(in_episode, NOTICE_DOWN, now):
            return Decision(PlannedAction(ActionName.NOTIFY, NOTICE_DOWN, "link Down"))
        return held
    if health.health is LinkHealth.UNKNOWN:
        return Decision(None)
    if outbound is not OutboundState.DIRECT:
        return Decision(
            PlannedAction(ActionName.RESTORE_OUTBOUND, OutboundState.DIRECT.value, "link recovered")
        )
    downs = [
        r
        for r in history
        if r.action is ActionName.NOTIFY and r.target == NOTICE_DOWN and r.result is not ActionResult.FAILED
    ]
    if downs:
        last_down = max(downs, key=lambda r: r.time)
        later = [r for r in history if r.time >= last_down.time]
        if not _notice_sent(later, NOTICE_RECOVERED, now):
            return Decision(PlannedAction(ActionName.NOTIFY, NOTICE_RECOVERED, "link recovered"))
    return Decision(None)


# --------------------------------------------------------------------------------------
# history bookkeeping (pure; the controller persists the returned list in the status)


def begin_action(
    history: Sequence[ActionRecord], planned: PlannedAction, now: dt.datetime
) -> tuple[list[ActionRecord], ActionRecord]:
    record = ActionRecord(
        time=now,
        action=planned.action,
        result=ActionResult.STARTED,
        target=planned.target,
        message=planned.reason,
    )
    return prune_history([*history, record], now), record


def finish_action(
    history: Sequence[ActionRecord], started: ActionRecord, result: ActionResult, message: str
) -> tuple[list[ActionRecord], ActionRecord]:
    """Replace the Started record with its outcome (same time, so cooldowns count from the start)."""
    done = started.model_copy(update={"result": result, "message": message[:1024]})
    out: list[ActionRecord] = []
    replaced = False
    for r in history:
        if not replaced and r == started:
            out.append(done)
            replaced = True
        else:
            out.append(r)
    if not replaced:
        out.append(done)
    return out, done


def prune_history(history: Sequence[ActionRecord], now: dt.datetime) -> list[ActionRecord]:
    """Keep 24 h (at most 100 records), and always the latest record of each action and target."""
    ordered = sorted(history, key=lambda r: r.time)
    latest: dict[tuple[ActionName, str], ActionRecord] = {}
    for r in ordered:
        latest[(r.action, r.target)] = r
    keep_ids = {id(r) for r in ordered if now - r.time <= HISTORY_KEEP}
    keep_ids.update(id(r) for r in latest.values())
    kept = [r for r in ordered if id(r) in keep_ids]
    if len(kept) > HISTORY_MAX:
        pinned = {id(r) for r in latest.values()}
        surplus = len(kept) - HISTORY_MAX
        trimmed: list[ActionRecord] = []
        for r in kept:
            if surplus > 0 and id(r) not in pinned:
                surplus -= 1
                continue
            trimmed.append(r)
        kept = trimmed
    return kept
