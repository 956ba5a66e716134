"""`spyops tunnel check`: an edge swanctl file that drifted from Azure's policy is refused, naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.tunnel.check import check_config
from spyops.tunnel.outputs import load_outputs
from spyops.tunnel.policy import TunnelConfigError
from spyops.tunnel.render import render_connections
from spyops.tunnel.swanconf import parse_swanctl, seconds
from tests.tunnel.outputs_fixture import seeds_outputs_json

OUTPUTS = load_outputs(seeds_outputs_json(), "outputs.json")
RENDERED = render_connections(OUTPUTS)


def _problems(text: str) -> list[str]:
    return check_config(parse_swanctl(text, "edge.conf"), OUTPUTS)


def test_the_rendered_file_matches() -> None:
    assert _problems(RENDERED) == []


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "    proposals = aes256-sha256-modp2048\n",
            "    proposals = aes128-sha256-modp2048\n",
            "connections.azure-0.proposals: aes128-sha256-modp2048 is not Azure's policy; "
            "Azure sends and accepts only aes256-sha256-modp2048",
        ),
        (
            "    proposals = aes256-sha256-modp2048\n",
            "    proposals = aes256-sha256-modp2048,aes256-sha256-modp1024\n",
            "connections.azure-0.proposals: aes256-sha256-modp1024 is not Azure's policy",
        ),
        (
            "        esp_proposals = aes256gcm16-modp2048\n",
            "        esp_proposals = aes256gcm16-modp1024\n",
            "connections.azure-0.children.azure-0.esp_proposals: aes256gcm16-modp1024 is not Azure's policy",
        ),
        (
            "        esp_proposals = aes256gcm16-modp2048\n",
            "",
            "connections.azure-0.children.azure-0.esp_proposals is missing",
        ),
        (
            "        life_time = 27000s\n",
            "        life_time = 200s\n",
            "connections.azure-0.children.azure-0.life_time: 200s is a lifetime Azure refuses (300..172799 s)",
        ),
        (
            "    rekey_time = 14400s\n",
            "    rekey_time = 9h\n",
            "connections.azure-0.rekey_time: 9h is not before Azure's fixed IKE SA lifetime of 28800 s",
        ),
        (
            "    version = 2\n",
            "    version = 1\n",
            "connections.azure-0.version: 1; Azure's connection is IKEv2",
        ),
        (
            "        remote_ts = 10.0.0.0/16\n",
            "        remote_ts = 10.0.0.0/8\n",
            "connections.azure-0.children.azure-0.remote_ts: 10.0.0.0/8 is outside vpn_address_spaces.azure",
        ),
        (
            "    remote_addrs = 203.0.113.22\n",
            "    remote_addrs = 203.0.113.99\n",
            "connections: none has remote_addrs = 203.0.113.22 (vpn_gateway_public_ips[1]); "
            "an active-active gateway needs a tunnel to each instance",
        ),
    ],
)
def test_drift_is_named(old: str, new: str, problem: str) -> None:
    assert old in RENDERED
    problems = _problems(RENDERED.replace(old, new, 1))
    assert len(problems) == 1, problems
    assert problems[0].startswith(problem)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("connections {\n  azure-0 {\n", "edge.conf: section connections.azure-0 is not closed"),
        ("}\n", "edge.conf:1: '}' closes no section"),
        ("include conf.d/*.conf\n", "edge.conf:1: include is not followed"),
        ("connections {\n  what is this\n}\n", "edge.conf:2: expected 'name {', 'key = value' or '}'"),
    ],
)
def test_unreadable_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(TunnelConfigError) as error:
        parse_swanctl(text, "edge.conf")
    assert str(error.value).startswith(message)


def test_quotes_comments_and_durations() -> None:
    parsed = parse_swanctl('a {\n  b = "x # y" # comment\n  c = 1 # z\n}\n', "f")
    assert parsed == {"a": {"b": "x # y", "c": "1"}}
    assert [seconds(v, "f") for v in ("27000", "27000s", "450m", "4h", "1d")] == [
        27000,
        27000,
        27000,
        14400,
        86400,
    ]
    with pytest.raises(TunnelConfigError, match=r"^f: '4 hours' is not a duration"):
        seconds("4 hours", "f")


def test_cli_check(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(seeds_outputs_json())
    conf = tmp_path / "spyops-azure.conf"
    conf.write_text(RENDERED)
    ok = CliRunner().invoke(app, ["tunnel", "check", "--outputs", str(outputs), "--conf", str(conf)])
    assert ok.exit_code == 0, ok.output
    assert "matches: 2 gateway(s), IKE aes256-sha256-modp2048, ESP aes256gcm16-modp2048" in ok.output
    conf.write_text(
        RENDERED.replace("esp_proposals = aes256gcm16-modp2048", "esp_proposals = aes128gcm16-modp2048")
    )
    bad = CliRunner().invoke(app, ["tunnel", "check", "--outputs", str(outputs), "--conf", str(conf)])
    assert bad.exit_code == 2
    lines = bad.output.strip().splitlines()
    assert len(lines) == 2  # one line per drifted setting: both connections
    assert lines[0].startswith(
        f"error: {conf}: connections.azure-0.children.azure-0.esp_proposals: aes128gcm16"
    )
    missing = CliRunner().invoke(
        app, ["tunnel", "check", "--outputs", str(outputs), "--conf", str(tmp_path / "x")]
    )
    assert missing.output.strip() == f"error: --conf {tmp_path / 'x'}: No such file or directory"
