from __future__ import annotations

from spyops.operator import conditions as cond


def test_transition_time_kept_while_status_unchanged() -> None:
    first = cond.merge_conditions(
        None, [cond.Wanted("Ready", "False", "Waiting", "x")], 1, now="2026-01-01T00:00:00Z"
    )
    second = cond.merge_conditions(
        first, [cond.Wanted("Ready", "False", "Other", "y")], 2, now="2026-01-02T00:00:00Z"
    )
    assert second[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert second[0]["reason"] == "Other"
    assert second[0]["observedGeneration"] == 2
    third = cond.merge_conditions(
        second, [cond.Wanted("Ready", "True", "Done")], 2, now="2026-01-03T00:00:00Z"
    )
    assert third[0]["lastTransitionTime"] == "2026-01-03T00:00:00Z"


def test_same_inputs_give_identical_conditions() -> None:
    wanted = cond.kstatus_triplet(True, "Running", "ok")
    once = cond.merge_conditions(None, wanted, 3, now="2026-01-01T00:00:00Z")
    again = cond.merge_conditions(once, wanted, 3, now="2026-05-05T00:00:00Z")
    assert once == again


def test_kstatus_triplet_is_consistent() -> None:
    ready = {c.type: c.status for c in cond.kstatus_triplet(True, "R", "")}
    assert ready == {"Ready": "True", "Reconciling": "False", "Stalled": "False"}
    progressing = {c.type: c.status for c in cond.kstatus_triplet(False, "R", "")}
    assert progressing == {"Ready": "False", "Reconciling": "True", "Stalled": "False"}
    stalled = {c.type: c.status for c in cond.kstatus_triplet(False, "R", "", stalled=True)}
    assert stalled == {"Ready": "False", "Reconciling": "False", "Stalled": "True"}


def test_transitions_report_only_changes() -> None:
    before = cond.merge_conditions(None, cond.kstatus_triplet(False, "Waiting", ""), 1)
    after = cond.merge_conditions(before, cond.kstatus_triplet(True, "Running", ""), 1)
    changed = [new["type"] for _, new in cond.transitions(before, after)]
    assert set(changed) == {"Ready", "Reconciling", "Stalled"}
    assert cond.transitions(after, after) == []
    assert cond.is_true(after, "Ready")
    assert not cond.is_true(after, "Stalled")
