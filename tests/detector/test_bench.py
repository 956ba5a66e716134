"""The detector benchmark runs end to end and reports both detectors on the same data."""

from __future__ import annotations

from spyops.detector.bench import DetectorBenchConfig, run_detector_benchmark


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
