from __future__ import annotations

from spyops.operator.drift import child_up_to_date, contains


def test_live_with_defaults_contains_desired() -> None:
    desired = {"spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "bot", "image": "a"}]}}}}
    live = {
        "metadata": {"name": "x"},
        "spec": {
            "replicas": 3,
            "progressDeadlineSeconds": 600,
            "template": {
                "spec": {"containers": [{"name": "bot", "image": "a", "terminationMessagePath": "/dev"}]}
            },
        },
        "status": {"replicas": 3},
    }
    assert contains(desired, live)
    assert child_up_to_date({"apiVersion": "apps/v1", "kind": "Deployment", **desired}, live)


def test_changed_value_or_list_length_is_drift() -> None:
    assert not contains({"spec": {"replicas": 3}}, {"spec": {"replicas": 2}})
    assert not contains({"a": [1, 2]}, {"a": [1, 2, 3]})
    assert not contains({"a": {"b": 1}}, {"a": {}})
    assert contains({"x": 1}, {"x": 1.0})
    assert not contains({"x": True}, {"x": 1})


def test_missing_or_terminating_child_is_not_up_to_date() -> None:
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "b"}}
    assert not child_up_to_date(desired, None)
    assert not child_up_to_date(desired, {"metadata": {"deletionTimestamp": "now"}, "data": {"a": "b"}})


def test_zero_values_the_api_server_omits_are_not_drift() -> None:
    desired = {"metadata": {"name": "gw"}, "spec": {"clusterIP": "None", "publishNotReadyAddresses": False}}
    live = {"metadata": {"name": "gw", "uid": "u"}, "spec": {"clusterIP": "None", "type": "ClusterIP"}}
    assert child_up_to_date(desired, live)
    # but a true value that is missing, or a false one that is live as true, is drift
    assert not child_up_to_date({**desired, "spec": {"publishNotReadyAddresses": True}}, live)
    flipped = {**live, "spec": {"clusterIP": "None", "publishNotReadyAddresses": True}}
    assert not child_up_to_date(desired, flipped)
