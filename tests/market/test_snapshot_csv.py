"""Snapshot and label CSV files: round trip, and clear errors for malformed input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.market import AnomalyLabel, ChainArrays, MarketConfig, MarketModel
from spyops.market.snapshot_csv import (
    SNAPSHOT_COLUMNS,
    GeneratedFiles,
    SnapshotFormatError,
    read_labels,
    read_snapshots,
)
from spyops.schemas import AnomalyKind

SESSION = dt.date(2026, 11, 20)
HEADER = ",".join(SNAPSHOT_COLUMNS)
GOOD_ROW = (
    "2026-11-20T10:00:00.100-05:00,SPY,590.00,590.01,2026-11-20,590.00,C,1.20,1.22,10,12,"
    "2026-11-20T10:00:00.000-05:00"
)


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    model = MarketModel(6, SESSION, MarketConfig(strikes_each_side=4))
    written: list[ChainArrays] = []
    labels: list[AnomalyLabel] = []
    with GeneratedFiles(tmp_path) as files:
        for step in range(30):
            if step == 5:
                model.inject(AnomalyKind.CROSSED_QUOTE, duration_seconds=1.0)
            chain = model.step(0.1)
            files.snapshots.write(chain)
            files.labels.write(model.labels)
            written.append(chain)
            labels.extend(model.labels)
    read = list(read_snapshots(tmp_path / "snapshots.csv"))
    assert len(read) == 30
    for a, b in zip(written, read, strict=True):
        assert a.ts == b.ts
        assert (a.spot_bid, a.spot_ask, a.underlying, a.expiry) == (
            b.spot_bid,
            b.spot_ask,
            b.underlying,
            b.expiry,
        )
        for name in ("strike", "is_call", "bid", "ask", "bid_size", "ask_size", "quote_ts_ns"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert labels
    assert read_labels(tmp_path / "labels.csv") == labels
    assert any(chain.bid.max() > 0 and np.any(chain.bid > chain.ask) for chain in read)


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "chain.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (GOOD_ROW.replace(",1.20,", ",1.2x,"), r":3: column 'bid': '1.2x' is not a number"),
        (GOOD_ROW.replace(",1.22,", ",nan,"), r":3: column 'ask': 'nan' is not a finite number"),
        (GOOD_ROW.replace(",1.20,", ",-1.20,"), r":3: column 'bid': -1.20 must not be negative"),
        (GOOD_ROW.replace(",C,", ",X,"), r":3: column 'right': 'X' is not C or P"),
        (GOOD_ROW.replace(",10,12,", ",10,1.5,"), r":3: column 'ask_size'"),
        (GOOD_ROW.replace("-05:00,SPY", ",SPY"), r":3: column 'ts': .* no UTC offset"),
        (GOOD_ROW.replace(",2026-11-20,590.00", ",20261120,590.00"), r":3: column 'expiry'"),
        (GOOD_ROW.replace(",590.00,C", ",0,C"), r":3: column 'strike': 0 must be positive"),
        (GOOD_ROW + ",extra", r":3: expected 12 fields, found 13"),
        (GOOD_ROW.replace(",C,", ",P,").replace("590.00,590.01", "590.00,590.02"), r":3: spot_bid/spot_ask"),
        (GOOD_ROW, r":3: contract 590.0 C appears twice .*first on line 2"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path, HEADER, GOOD_ROW, row)
    with pytest.raises(SnapshotFormatError, match=message):
        list(read_snapshots(path))


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER.replace(",quote_ts", ""), GOOD_ROW.rsplit(",", 1)[0])
    with pytest.raises(SnapshotFormatError, match=r":1: missing column\(s\) quote_ts"):
        list(read_snapshots(path))
    with pytest.raises(SnapshotFormatError, match="empty file"):
        list(read_snapshots(_write(tmp_path, "")))


def test_crossed_quote_is_data_not_an_error(tmp_path: Path) -> None:
    crossed = GOOD_ROW.replace(",1.20,1.22,", ",1.30,1.22,")
    (chain,) = read_snapshots(_write(tmp_path, HEADER, crossed))
    assert chain.bid[0] > chain.ask[0]


def test_bad_label_kind_is_named(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("ts,expiry,strike,right,kind\n2026-11-20T10:00:00-05:00,2026-11-20,590,C,weird\n")
    with pytest.raises(SnapshotFormatError, match=r":2: column 'kind': 'weird' is not one of"):
        read_labels(path)


def test_generate_command_writes_both_files(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "market",
            "generate",
            "--out",
            str(tmp_path),
            "--seed",
            "3",
            "--minutes",
            "0.5",
            "--strikes-each-side",
            "6",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["snapshots"] == 300
    assert summary["contracts_per_snapshot"] == 26
    chains = list(read_snapshots(tmp_path / "snapshots.csv"))
    assert len(chains) == 300
    labels = read_labels(tmp_path / "labels.csv")
    assert len(labels) == summary["label_rows"] > 0
    again = tmp_path / "again"
    CliRunner().invoke(
        app,
        [
            "market",
            "generate",
            "--out",
            str(again),
            "--seed",
            "3",
            "--minutes",
            "0.5",
            "--strikes-each-side",
            "6",
        ],
    )
    assert (again / "snapshots.csv").read_bytes() == (tmp_path / "snapshots.csv").read_bytes()
    late = CliRunner().invoke(
        app, ["market", "generate", "--out", str(tmp_path), "--start", "15:58", "--minutes", "5"]
    )
    assert late.exit_code == 2
    assert "16:00 close" in late.output
