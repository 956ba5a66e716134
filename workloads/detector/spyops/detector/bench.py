"""The detector benchmark (`spyops bench detector`): accuracy against ground truth and scan latency.

Accuracy is measured on market-model data from held-out seeds (never used to tune the
detector), with the seed design's rule run on the very same snapshots. Latency is the time
to scan one snapshot, for chains of several sizes, with the seed rule's time in the same run.

Scoring is at contract level. A signal (one per anomaly episode, after hysteresis) is a true
positive when its culprit carries a label in that snapshot and that label is tradable; any
other signal is a false positive. An anomaly counts as found when, in some snapshot where it
is labeled, a tradable finding names its contract. Recall is over tradable anomalies (those
with at least one tradable label row); injected-but-too-small anomalies are not positives,
and a tradable signal on one counts against precision.

The seed rule flags a pair of neighbouring strikes, not a culprit; it is scored with its best
culprit choice (``seed_rule.best_culprits``: the labeled contract of a flagged pair when there
is one), since scoring both contracts of every pair would cap its precision near 0.5 by
construction (that scoring is reported too, for comparison).

The data mixes anomalies far above the minimum edge, far below it, and, with
``near_threshold_fraction``, near it (an edge between 0.8 and 1.5 times the minimum when they
start). Precision and recall are also reported by anomaly size, as a multiple of the minimum
edge: by the anomaly's peak edge over its life, and by its edge when it first showed (its size
as injected; a stale quote starts small and grows).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from collections import Counter
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from spyops.detector.rules import ScanParams, scan_chain
from spyops.detector.seed_rule import best_culprits, seed_rule_flags, seed_rule_pairs
from spyops.detector.tracker import SignalTracker, build_signal
from spyops.market import AnomalyLabel, ChainArrays, MarketConfig, MarketModel
from spyops.schemas import AnomalyKind, DetectorSettings

SESSION = dt.date(2026, 11, 20)
START_TIMES = (
    dt.time(9, 30),
    dt.time(10, 45),
    dt.time(12, 0),
    dt.time(13, 15),
    dt.time(14, 30),
    dt.time(15, 30),
)
# Anomaly size classes: peak edge over the anomaly's life, as a multiple of the minimum edge.
SIZE_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("below_0.8x", float("-inf"), 0.8),
    ("0.8x_to_1x", 0.8, 1.0),
    ("1x_to_1.5x", 1.0, 1.5),
    ("1.5x_and_above", 1.5, float("inf")),
)
SEED_THRESHOLDS = (0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.75, 0.90, 1.00, 1.05, 1.25, 1.50, 2.00, 3.00)
INTERVAL = 0.1

Contract = tuple[float, bool]


@dataclass(frozen=True)
class DetectorBenchConfig:
    seeds: tuple[int, ...] = (1001, 1002, 1003, 1004)
    tuning_seeds: tuple[int, ...] = (1, 2, 3)
    minutes: float = 10.0
    anomalies_per_minute: float = 6.0
    # Share of scheduled anomalies sized to start near the minimum edge (0.8 to 1.5 times it).
    near_threshold_fraction: float = 0.3
    latency_snapshots: int = 1000
    sizes: tuple[int, ...] = (200, 1000, 5000)
    settings: DetectorSettings = field(default_factory=DetectorSettings)


@dataclass
class _Snapshot:
    ts: dt.datetime
    labels: dict[Contract, AnomalyLabel]
    ours: dict[Contract, tuple[AnomalyKind, bool]]
    seed: dict[float, set[Contract]]  # best culprit of each flagged pair
    seed_both: dict[float, set[Contract]]  # both contracts of each flagged pair


def _contract(chain: ChainArrays, row: int) -> Contract:
    return (float(chain.strike[row]), bool(chain.is_call[row]))


def _simulate(
    seed: int,
    index: int,
    config: DetectorBenchConfig,
    params: ScanParams,
    thresholds: tuple[float, ...],
    rate: float,
) -> Iterator[_Snapshot]:
    start = START_TIMES[index % len(START_TIMES)]
    model = MarketModel(
        seed,
        SESSION,
        MarketConfig(
            start_time=start,
            anomalies_per_minute=rate,
            near_threshold_fraction=config.near_threshold_fraction,
        ),
    )
    for _ in range(round(config.minutes * 60 / INTERVAL)):
        chain = model.step(INTERVAL)
        # Anomaly ids restart with every model: make them unique across seeds.
        labels = {
            (lb.strike, lb.right.value == "C"): replace(lb, anomaly_id=f"{seed}:{lb.anomaly_id}")
            for lb in model.labels
        }
        ours = {_contract(chain, f.culprit): (f.rule, f.tradable) for f in scan_chain(chain, params)}
        seed_best: dict[float, set[Contract]] = {}
        seed_both: dict[float, set[Contract]] = {}
        for t in thresholds:
            pairs = [
                (_contract(chain, int(a)), _contract(chain, int(b))) for a, b in seed_rule_pairs(chain, t)
            ]
            seed_best[t] = best_culprits(pairs, set(labels))
            seed_both[t] = {c for pair in pairs for c in pair}
        yield _Snapshot(chain.ts, labels, ours, seed_best, seed_both)


def _prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


def size_class(peak_edge: float | None, min_edge: float) -> str:
    """The size class of an anomaly from its peak edge (None: it never had one, e.g. a blowout)."""
    ratio = float("-inf") if peak_edge is None else peak_edge / min_edge
    return next(name for name, low, high in SIZE_CLASSES if low <= ratio < high)


def _size_classes(snapshots: list[_Snapshot], min_edge: float) -> dict[str, dict[str, str]]:
    """Each anomaly's size class by its peak edge and by its edge when it first showed."""
    peak: dict[str, float | None] = {}
    first: dict[str, float | None] = {}
    for snap in snapshots:
        for label in snap.labels.values():
            anomaly, edge = label.anomaly_id, label.edge
            if anomaly not in first or (first[anomaly] is None and edge is not None):
                first[anomaly] = edge
            before = peak.get(anomaly)
            if anomaly not in peak or (edge is not None and (before is None or edge > before)):
                peak[anomaly] = edge
    return {
        "peak_edge": {a: size_class(e, min_edge) for a, e in peak.items()},
        "edge_when_first_shown": {a: size_class(e, min_edge) for a, e in first.items()},
    }


def _evaluate(
    snapshots: list[_Snapshot],
    found_of: Any,
    clear_after: int,
    *,
    tradable_only: bool,
    classes: dict[str, dict[str, str]] | None = None,
) -> dict[str, Any]:
    """Episode-level and snapshot-level scores of one detector's findings (and by anomaly size)."""
    tracker = SignalTracker(clear_after)
    positives: dict[str, AnomalyKind] = {}
    found_ids: set[str] = set()
    signalled_ids: set[str] = set()
    tally: dict[str, list[int]] = {}  # anomaly id -> [true positive, false positive] signals on it
    signals_tp = signals_fp = signals_on_small = 0
    snap_tp = snap_fp = snap_fn = 0
    for snap in snapshots:
        found: dict[Contract, Hashable] = found_of(snap)
        for label in snap.labels.values():
            if label.tradable or not tradable_only:
                positives[label.anomaly_id] = label.kind
        for contract, label in snap.labels.items():
            if contract in found:
                signalled_ids.add(label.anomaly_id)
                if label.tradable or not tradable_only:
                    found_ids.add(label.anomaly_id)
        for key, _start in tracker.update_keys(snap.ts, {(c, tag) for c, tag in found.items()}):
            contract = key[0]  # type: ignore[index]
            named = snap.labels.get(contract)
            good = named is not None and (named.tradable or not tradable_only)
            if good:
                signals_tp += 1
            else:
                signals_fp += 1
                signals_on_small += named is not None
            if named is not None:
                tally.setdefault(named.anomaly_id, [0, 0])[0 if good else 1] += 1
        truth = {c for c, lb in snap.labels.items() if lb.tradable or not tradable_only}
        snap_tp += len(truth & found.keys())
        snap_fp += len(found.keys() - truth)
        snap_fn += len(truth - found.keys())
    detected = len(found_ids & positives.keys())
    precision = signals_tp / (signals_tp + signals_fp) if signals_tp + signals_fp else 0.0
    recall = detected / len(positives) if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    by_kind: dict[str, dict[str, int]] = {}
    for anomaly_id, kind in positives.items():
        entry = by_kind.setdefault(kind.value, {"anomalies": 0, "found": 0})
        entry["anomalies"] += 1
        entry["found"] += anomaly_id in found_ids
    result: dict[str, Any] = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "signals": signals_tp + signals_fp,
        "true_positive_signals": signals_tp,
        "false_positive_signals": signals_fp,
        "false_positive_signals_on_too_small_anomalies": signals_on_small,
        "false_positive_signals_on_no_anomaly": signals_fp - signals_on_small,
        "anomalies": len(positives),
        "anomalies_found": detected,
        "recall_by_kind": {k: by_kind[k] for k in sorted(by_kind)},
        "snapshot_level": _prf(snap_tp, snap_fp, snap_fn),
    }
    if classes is not None:
        result["by_anomaly_size"] = {
            basis: _by_size(by_id, positives, found_ids, signalled_ids, tally)
            for basis, by_id in classes.items()
        }
    return result


def _by_size(
    classes: dict[str, str],
    positives: dict[str, AnomalyKind],
    found_ids: set[str],
    signalled_ids: set[str],
    tally: dict[str, list[int]],
) -> dict[str, dict[str, Any]]:
    """Precision and recall per size class. Recall: tradable anomalies of the class found.
    Precision: of the signals that named an anomaly of the class, those that named it while it
    was tradable (signals that named no anomaly belong to no class)."""
    table: dict[str, dict[str, Any]] = {}
    for name, _low, _high in SIZE_CLASSES:
        ids = [i for i, c in classes.items() if c == name]
        tradable = [i for i in ids if i in positives]
        tp = sum(tally.get(i, [0, 0])[0] for i in ids)
        fp = sum(tally.get(i, [0, 0])[1] for i in ids)
        found = sum(i in found_ids for i in tradable)
        table[name] = {
            "anomalies": len(ids),
            "tradable_anomalies": len(tradable),
            "found": found,
            "recall": round(found / len(tradable), 4) if tradable else None,
            "anomalies_signalled": sum(i in signalled_ids for i in ids),
            "signals": tp + fp,
            "true_positive_signals": tp,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        }
    return table


def _ours_tradable(snap: _Snapshot) -> dict[Contract, Hashable]:
    return {c: rule for c, (rule, tradable) in snap.ours.items() if tradable}


def _ours_all(snap: _Snapshot) -> dict[Contract, Hashable]:
    return {c: (rule, tradable) for c, (rule, tradable) in snap.ours.items()}


def _seed(threshold: float) -> Any:
    def found(snap: _Snapshot) -> dict[Contract, Hashable]:
        return dict.fromkeys(snap.seed[threshold], "seed")

    return found


def _seed_both(threshold: float) -> Any:
    def found(snap: _Snapshot) -> dict[Contract, Hashable]:
        return dict.fromkeys(snap.seed_both[threshold], "seed")

    return found


def _tune_seed_threshold(config: DetectorBenchConfig, params: ScanParams) -> tuple[float, dict[str, float]]:
    tuning = DetectorBenchConfig(
        minutes=min(config.minutes, 5.0),
        near_threshold_fraction=config.near_threshold_fraction,
        settings=config.settings,
    )
    snapshots = [
        snap
        for index, seed in enumerate(config.tuning_seeds)
        for snap in _simulate(seed, index, tuning, params, SEED_THRESHOLDS, config.anomalies_per_minute)
    ]
    clear = config.settings.clear_after_snapshots
    scores = {t: _evaluate(snapshots, _seed(t), clear, tradable_only=True)["f1"] for t in SEED_THRESHOLDS}
    best = max(SEED_THRESHOLDS, key=lambda t: (scores[t], -t))
    return best, {f"{t:.2f}": scores[t] for t in SEED_THRESHOLDS}


def _trim(chain: ChainArrays, size: int) -> ChainArrays:
    """The ``size`` contracts around the middle of a chain (whole strikes, calls with puts)."""
    start = max((len(chain) - size) // 2 // 2 * 2, 0)
    rows = slice(start, start + size)
    return ChainArrays(
        ts=chain.ts,
        underlying=chain.underlying,
        expiry=chain.expiry,
        spot_bid=chain.spot_bid,
        spot_ask=chain.spot_ask,
        strike=chain.strike[rows],
        is_call=chain.is_call[rows],
        bid=chain.bid[rows],
        ask=chain.ask[rows],
        bid_size=chain.bid_size[rows],
        ask_size=chain.ask_size[rows],
        quote_ts_ns=chain.quote_ts_ns[rows],
    )


def _percentiles(values_ns: list[int]) -> dict[str, float]:
    values = np.asarray(values_ns, dtype=np.float64) / 1_000.0
    return {
        "p50": round(float(np.percentile(values, 50)), 1),
        "p99": round(float(np.percentile(values, 99)), 1),
        "max": round(float(values.max()), 1),
    }


def _latency(
    size: int, config: DetectorBenchConfig, params: ScanParams, seed_threshold: float
) -> dict[str, Any]:
    strikes = size // 2
    each_side = strikes // 2
    step = 1.0 if each_side * 1.0 < 500 else 0.25 if each_side * 0.25 < 500 else 0.05
    model = MarketModel(
        7, SESSION, MarketConfig(strikes_each_side=each_side, strike_step=step, anomalies_per_minute=6.0)
    )
    tracker = SignalTracker(config.settings.clear_after_snapshots)
    wall: dict[str, list[int]] = {"ours": [], "seed_rule": [], "ours_with_signals": []}
    cpu: dict[str, list[int]] = {"ours": [], "seed_rule": []}
    findings_total = 0
    for _ in range(config.latency_snapshots):
        chain = _trim(model.step(INTERVAL), size)
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        findings = scan_chain(chain, params)
        t1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        for emitted in tracker.update(chain, findings):
            build_signal(emitted.finding, chain, episode_start=emitted.episode_start, detected_at=chain.ts)
        t2 = time.perf_counter_ns()
        c3, t3 = time.thread_time_ns(), time.perf_counter_ns()
        seed_rule_flags(chain, seed_threshold)
        t4, c4 = time.perf_counter_ns(), time.thread_time_ns()
        wall["ours"].append(t1 - t0)
        wall["ours_with_signals"].append(t2 - t0)
        wall["seed_rule"].append(t4 - t3)
        cpu["ours"].append(c1 - c0)
        cpu["seed_rule"].append(c4 - c3)
        findings_total += len(findings)
    return {
        "contracts": len(chain),
        "strike_step": step,
        "snapshots": config.latency_snapshots,
        "findings": findings_total,
        "wall_us": {name: _percentiles(values) for name, values in wall.items()},
        "cpu_us": {name: _percentiles(values) for name, values in cpu.items()},
    }


def _numpy_call_cost() -> float:
    left, right = np.random.default_rng(0).random((2, 1000))
    samples = []
    for _ in range(2000):
        start = time.thread_time_ns()
        np.subtract(left, right)
        samples.append(time.thread_time_ns() - start)
    return round(float(np.percentile(samples, 50)) / 1_000.0, 2)


def run_detector_benchmark(config: DetectorBenchConfig) -> dict[str, Any]:
    params = ScanParams.from_settings(config.settings)
    clear = config.settings.clear_after_snapshots
    started = time.monotonic()
    seed_threshold, seed_tuning = _tune_seed_threshold(config, params)

    snapshots: list[_Snapshot] = []
    for index, seed in enumerate(config.seeds):
        snapshots.extend(
            _simulate(seed, index, config, params, (seed_threshold,), config.anomalies_per_minute)
        )
    kinds = Counter(
        {lb.anomaly_id: lb.kind.value for snap in snapshots for lb in snap.labels.values()}.values()
    )
    tradable_ids = {lb.anomaly_id for snap in snapshots for lb in snap.labels.values() if lb.tradable}
    min_edge = MarketConfig().min_edge
    classes = _size_classes(snapshots, min_edge)

    clean_ours = clean_seed = clean_snapshots = 0
    for index, seed in enumerate(config.seeds):
        for snap in _simulate(seed, index, config, params, (seed_threshold,), 0.0):
            clean_snapshots += 1
            clean_ours += len(snap.ours)
            clean_seed += len(snap.seed_both[seed_threshold])

    pinned = None
    if hasattr(os, "sched_setaffinity"):
        allowed = os.sched_getaffinity(0)
        pinned = min(allowed)
        os.sched_setaffinity(0, {pinned})
    try:
        latency = {str(size): _latency(size, config, params, seed_threshold) for size in config.sizes}
        calibration = _numpy_call_cost()
    finally:
        if pinned is not None:
            os.sched_setaffinity(0, allowed)

    return {
        "benchmark": "detector",
        "data": {
            "generator": "spyops.market.MarketModel",
            "held_out_seeds": list(config.seeds),
            "tuning_seeds": list(config.tuning_seeds),
            "session_starts": [
                START_TIMES[i % len(START_TIMES)].isoformat("minutes") for i in range(len(config.seeds))
            ],
            "minutes_per_seed": config.minutes,
            "anomalies_per_minute": config.anomalies_per_minute,
            "snapshots": len(snapshots),
            "anomalies_by_kind": dict(sorted(kinds.items())),
            "tradable_anomalies": len(tradable_ids),
            "near_threshold_fraction": config.near_threshold_fraction,
            "min_edge": min_edge,
            "anomalies_by_size": {
                basis: {name: sum(c == name for c in by_id.values()) for name, _low, _high in SIZE_CLASSES}
                for basis, by_id in classes.items()
            },
            "settings": config.settings.model_dump(
                exclude={"rules", "max_market_data_lines", "strike_window"}
            ),
        },
        "accuracy": {
            "ours": {
                "tradable": _evaluate(snapshots, _ours_tradable, clear, tradable_only=True, classes=classes),
                "all_findings_vs_all_anomalies": _evaluate(snapshots, _ours_all, clear, tradable_only=False),
            },
            "seed_rule": {
                "threshold": seed_threshold,
                "threshold_f1_on_tuning_seeds": seed_tuning,
                "culprit_choice": "best: the labeled contract of a flagged pair when there is one",
                "tradable": _evaluate(
                    snapshots, _seed(seed_threshold), clear, tradable_only=True, classes=classes
                ),
                "both_contracts_of_each_pair_scored": _evaluate(
                    snapshots, _seed_both(seed_threshold), clear, tradable_only=True
                ),
            },
        },
        "clean_chains": {
            "snapshots": clean_snapshots,
            "ours_findings": clean_ours,
            "seed_rule_flags": clean_seed,
        },
        "latency": latency,
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "pinned_to_cpu": pinned,
            "load_average_1m": round(os.getloadavg()[0], 2),
            # How busy the core was: CPU time of one numpy subtraction of 1,000 floats (well
            # under 1 us on an idle modern core); scan latencies scale with it.
            "numpy_subtract_1000_cpu_us_p50": calibration,
            "seconds": round(time.monotonic() - started, 1),
        },
    }
