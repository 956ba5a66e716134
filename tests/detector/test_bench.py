"""The detector benchmark runs end to end and reports both detectors on the same data, by anomaly size."""

from __future__ import annotations

from spyops.detector.bench import DetectorBenchConfig, run_detector_benchmark, size_class


def test_small_benchmark_reports_both_detectors_and_latency() -> None:
    report = run_detector_benchmark(
        DetectorBenchConfig(
            seeds=(901,),
            tuning_seeds=(902,),
            minutes=0.5,
            anomalies_per_minute=12.0,
            latency_snapshots=20,
            sizes=(200,),
        )
    )
    ours = report["accuracy"]["ours"]["tradable"]
    seed = report["accuracy"]["seed_rule"]["tradable"]
    assert {"precision", "recall", "f1"} <= ours.keys() & seed.keys()
    assert ours["anomalies"] == seed["anomalies"] > 0
    assert report["clean_chains"]["ours_findings"] == 0
    latency = report["latency"]["200"]
    assert latency["contracts"] == 200
    assert {"ours", "seed_rule"} <= latency["cpu_us"].keys()
    assert latency["cpu_us"]["ours"]["p50"] > 0


def test_seed_rule_is_scored_with_its_best_culprit_and_near_threshold_anomalies_by_size() -> None:
    report = run_detector_benchmark(
        DetectorBenchConfig(
            seeds=(903, 904),
            tuning_seeds=(905,),
            minutes=1.0,
            anomalies_per_minute=20.0,
            near_threshold_fraction=0.6,
            latency_snapshots=10,
            sizes=(200,),
        )
    )
    data = report["data"]
    assert set(data["anomalies_by_size"]) == {"peak_edge", "edge_when_first_shown"}
    by_size = data["anomalies_by_size"]["edge_when_first_shown"]
    # The data has anomalies just short of and just past the minimum edge, not only far from it.
    assert by_size["0.8x_to_1x"] > 0
    assert by_size["1x_to_1.5x"] > 0
    assert by_size["1.5x_and_above"] > 0
    assert sum(by_size.values()) == sum(data["anomalies_by_kind"].values())

    seed = report["accuracy"]["seed_rule"]
    assert seed["culprit_choice"].startswith("best")
    # One culprit per flagged pair instead of two: never more signals, never lower precision.
    assert seed["tradable"]["signals"] <= seed["both_contracts_of_each_pair_scored"]["signals"]
    assert seed["tradable"]["precision"] >= seed["both_contracts_of_each_pair_scored"]["precision"]

    for scored in (report["accuracy"]["ours"]["tradable"], seed["tradable"]):
        for basis, table in scored["by_anomaly_size"].items():
            assert list(table) == ["below_0.8x", "0.8x_to_1x", "1x_to_1.5x", "1.5x_and_above"]
            assert sum(row["anomalies"] for row in table.values()) == sum(by_size.values())
            assert sum(row["found"] for row in table.values()) == scored["anomalies_found"]
            assert (
                sum(row["true_positive_signals"] for row in table.values()) == scored["true_positive_signals"]
            )
            for row in table.values():
                if row["signals"]:
                    assert row["precision"] == round(row["true_positive_signals"] / row["signals"], 4)
            if basis == "peak_edge":  # never reached the minimum edge: nothing to recall
                assert table["below_0.8x"]["tradable_anomalies"] == 0
                assert table["0.8x_to_1x"]["recall"] is None


def test_size_classes_follow_the_peak_edge() -> None:
    assert size_class(None, 5.0) == "below_0.8x"
    assert size_class(3.99, 5.0) == "below_0.8x"
    assert size_class(4.0, 5.0) == "0.8x_to_1x"
    assert size_class(5.0, 5.0) == "1x_to_1.5x"
    assert size_class(7.5, 5.0) == "1.5x_and_above"
