"""`spyops detect` over generated files, and its errors on malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.market.snapshot_csv import SNAPSHOT_COLUMNS

ROW = (
    "2026-11-20T10:00:00.100-05:00,SPY,590.00,590.01,2026-11-20,{strike},{right},{bid},{ask},10,12,"
    "2026-11-20T10:00:00.000-05:00"
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("market")
    result = CliRunner().invoke(
        app,
        [
            "market",
            "generate",
            "--out",
            str(out),
            "--seed",
            "77",
            "--minutes",
            "1",
            "--anomalies-per-minute",
            "12",
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_detect_prints_one_json_object_per_signal(generated: Path) -> None:
    result = CliRunner().invoke(app, ["detect", str(generated / "snapshots.csv")])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert records
    for record in records:
        assert {"ts", "expiry", "strike", "right", "rule", "edge", "score", "legs", "id"} <= record.keys()
        assert record["right"] in ("C", "P")
        assert len(record["id"]) == 32
        assert bool(record["legs"]) == record["tradable"]
    labels = {
        (line.split(",")[0], float(line.split(",")[2]), line.split(",")[3])
        for line in (generated / "labels.csv").read_text().splitlines()[1:]
    }
    assert all((r["ts"], r["strike"], r["right"]) in labels for r in records)
    assert len({r["id"] for r in records}) == len(records)


def test_detect_table_format(generated: Path) -> None:
    result = CliRunner().invoke(app, ["detect", "--format", "table", str(generated / "snapshots.csv")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["ts", "expiry", "strike", "R"]
    assert len(lines) > 1


def _chain_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "chain.csv"
    path.write_text("\n".join([",".join(SNAPSHOT_COLUMNS), *rows]) + "\n")
    return path


def test_malformed_input_names_the_line(tmp_path: Path) -> None:
    path = _chain_file(
        tmp_path,
        ROW.format(strike="590", right="C", bid="1.20", ask="1.22"),
        ROW.format(strike="590", right="P", bid="1.1O", ask="1.22"),
    )
    result = CliRunner().invoke(app, ["detect", str(path)])
    assert result.exit_code == 2
    assert "chain.csv:3: column 'bid': '1.1O' is not a number" in result.output
    missing = tmp_path / "missing.csv"
    missing.write_text("ts,underlying\n")
    result = CliRunner().invoke(app, ["detect", str(missing)])
    assert result.exit_code == 2
    assert "missing column(s) spot_bid" in result.output
    assert CliRunner().invoke(app, ["detect", str(tmp_path / "nope.csv")]).exit_code == 2


def test_a_crossed_quote_is_a_finding_not_an_error(tmp_path: Path) -> None:
    rows = []
    for k in range(580, 601):
        call = max(590.0 - k, 0.0) + 0.5
        put = max(k - 590.0, 0.0) + 0.5
        rows.append(ROW.format(strike=k, right="C", bid=f"{call - 0.01:.2f}", ask=f"{call + 0.01:.2f}"))
        rows.append(ROW.format(strike=k, right="P", bid=f"{put - 0.01:.2f}", ask=f"{put + 0.01:.2f}"))
    rows[21] = ROW.format(strike=590, right="P", bid="0.80", ask="0.60")
    result = CliRunner().invoke(app, ["detect", "--every-snapshot", str(_chain_file(tmp_path, *rows))])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    crossed = [r for r in records if r["rule"] == "crossed_quote"]
    assert [(r["strike"], r["right"], r["edge"]) for r in crossed] == [(590.0, "P", pytest.approx(18.7))]
