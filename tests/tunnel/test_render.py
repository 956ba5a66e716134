"""`spyops tunnel render`: Azure's policy to strongSwan proposals, refusals naming the field, secrets kept out."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spyops.cli import app
from spyops.tunnel.outputs import load_outputs, parse_outputs
from spyops.tunnel.policy import TunnelConfigError, parse_policy
from spyops.tunnel.render import render_connections, render_secrets
from tests.tunnel.outputs_fixture import SEEDS_POLICY, seeds_outputs_json, tofu_outputs

PSK = "Zq8-not-a-real-key-4f1d"


def _policy(**changes: Any) -> dict[str, Any]:
    return {**SEEDS_POLICY, **changes}


def test_seeds_policy_maps_to_the_strongswan_keywords() -> None:
    policy = parse_policy(SEEDS_POLICY)
    assert policy.ike_proposal() == "aes256-sha256-modp2048"
    assert policy.esp_proposal() == "aes256gcm16-modp2048"


@pytest.mark.parametrize(
    ("changes", "ike", "esp"),
    [
        (
            {"ipsec_encryption": "AES256", "ipsec_integrity": "SHA256"},
            "aes256-sha256-modp2048",
            "aes256-sha256-modp2048",
        ),
        (
            {"dh_group": "ECP384", "pfs_group": "ECP384", "ike_integrity": "SHA384"},
            "aes256-sha384-ecp384",
            "aes256gcm16-ecp384",
        ),
        (
            {"dh_group": "DHGroup24", "pfs_group": "PFS24"},
            "aes256-sha256-modp2048s256",
            "aes256gcm16-modp2048s256",
        ),
        (
            {"ike_encryption": "GCMAES256", "ike_integrity": "GCMAES256"},
            "aes256gcm16-prfsha256-modp2048",
            "aes256gcm16-modp2048",
        ),
        ({"dh_group": "DHGroup2048", "pfs_group": "PFS14"}, "aes256-sha256-modp2048", "aes256gcm16-modp2048"),
    ],
)
def test_other_azure_policies(changes: dict[str, Any], ike: str, esp: str) -> None:
    policy = parse_policy(_policy(**changes))
    assert (policy.ike_proposal(), policy.esp_proposal()) == (ike, esp)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ike_encryption": "DES3"}, "vpn_ipsec_policy.ike_encryption: DES3 is weaker than the edge accepts"),
        (
            {"ipsec_encryption": "DES", "ipsec_integrity": "SHA256"},
            "vpn_ipsec_policy.ipsec_encryption: DES is weaker",
        ),
        ({"ike_integrity": "SHA1"}, "vpn_ipsec_policy.ike_integrity: SHA1 is weaker"),
        ({"dh_group": "DHGroup2"}, "vpn_ipsec_policy.dh_group: DHGroup2 is weaker"),
        ({"pfs_group": "None"}, "vpn_ipsec_policy.pfs_group: None is weaker"),
        ({"dh_group": "DHGroup15"}, "vpn_ipsec_policy.dh_group: 'DHGroup15' is not an Azure value"),
        (
            {"sa_lifetime": 120},
            "vpn_ipsec_policy.sa_lifetime: 120 s is a lifetime Azure refuses (300..172799 s)",
        ),
        ({"sa_lifetime": 200000}, "vpn_ipsec_policy.sa_lifetime: 200000 s is a lifetime Azure refuses"),
        ({"sa_lifetime": "27000"}, "vpn_ipsec_policy.sa_lifetime: expected a whole number"),
        ({"sa_datasize": 512}, "vpn_ipsec_policy.sa_datasize: 512 KB is below Azure's minimum"),
        (
            {"ipsec_integrity": "GCMAES128"},
            "vpn_ipsec_policy.ipsec_integrity: GCMAES128 must equal ipsec_encryption",
        ),
        (
            {"ike_integrity": "GCMAES256"},
            "vpn_ipsec_policy.ike_integrity: GCMAES256 does not go with ike_encryption",
        ),
        ({"shared_key": "x"}, "vpn_ipsec_policy.shared_key: unknown field"),
    ],
)
def test_policies_the_edge_refuses_name_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TunnelConfigError) as error:
        parse_policy(_policy(**changes))
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_a_missing_policy_field_is_named() -> None:
    raw = dict(SEEDS_POLICY)
    del raw["pfs_group"]
    with pytest.raises(TunnelConfigError, match=r"^vpn_ipsec_policy.pfs_group is missing"):
        parse_policy(raw)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"gateway_ips": []}, "vpn_gateway_public_ips: expected one or two addresses"),
        (
            {"gateway_ips": ["203.0.113.21", "203.0.113.21"]},
            "vpn_gateway_public_ips: the two gateway instances",
        ),
        (
            {"gateway_ips": ["203.0.113.300"]},
            "vpn_gateway_public_ips[0]: '203.0.113.300' is not an IPv4 address",
        ),
        ({"edge_ip": "edge.example"}, "vpn_edge_public_ip: 'edge.example' is not an IPv4 address"),
        (
            {"onprem": ["192.168.1.1/24"]},
            "vpn_address_spaces.onprem[0]: '192.168.1.1/24' is not an IPv4 CIDR block",
        ),
        ({"azure": []}, "vpn_address_spaces.azure: expected a non-empty list"),
        ({"onprem": ["10.0.5.0/24"]}, "vpn_address_spaces: azure 10.0.0.0/16 overlaps onprem 10.0.5.0/24"),
    ],
)
def test_bad_outputs_name_the_output(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(TunnelConfigError) as error:
        load_outputs(seeds_outputs_json(**overrides), "outputs.json")
    assert str(error.value).startswith(message)


def test_a_missing_output_says_which() -> None:
    document = json.loads(seeds_outputs_json())
    del document["vpn_address_spaces"]
    with pytest.raises(TunnelConfigError, match=r"^vpn_address_spaces is missing from the Terraform outputs"):
        parse_outputs(document)


def test_active_active_renders_one_connection_per_gateway_instance() -> None:
    outputs = load_outputs(seeds_outputs_json(), "outputs.json")
    text = render_connections(outputs)
    for index, gateway in enumerate(["203.0.113.21", "203.0.113.22"]):
        block = text.split(f"  azure-{index} {{\n", 1)[1]
        assert f"remote_addrs = {gateway}\n" in block
        assert f"id = {gateway}\n" in block
    assert text.count("proposals = aes256-sha256-modp2048\n") == 2
    assert text.count("esp_proposals = aes256gcm16-modp2048\n") == 2
    assert text.count("local_ts = 192.168.1.0/24\n") == 2
    assert text.count("remote_ts = 10.0.0.0/16\n") == 2
    assert text.count("life_time = 27000s\n") == 2
    assert text.count("rekey_time = 14400s\n") == 2  # IKE: before Azure's fixed 28,800 s
    assert text.count("id = 203.0.113.10\n") == 2
    assert "secret" not in text


def test_single_gateway_and_several_prefixes() -> None:
    outputs = load_outputs(
        seeds_outputs_json(gateway_ips=["198.51.100.7"], azure=["10.0.0.0/16", "10.1.0.0/16"]), "o.json"
    )
    text = render_connections(outputs)
    assert "azure-1" not in text
    assert "remote_ts = 10.0.0.0/16, 10.1.0.0/16\n" in text


def test_secrets_are_base64_per_gateway_identity() -> None:
    outputs = load_outputs(seeds_outputs_json(), "outputs.json")
    text = render_secrets(outputs, b'quote"and#hash')
    assert text.count("secret = 0scXVvdGUiYW5kI2hhc2g=\n") == 2
    assert "id-1 = 203.0.113.21\n" in text
    assert "id-1 = 203.0.113.22\n" in text


def _render(tmp_path: Path, *extra: str, outputs: str | None = None) -> Any:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(outputs or seeds_outputs_json())
    out = tmp_path / "conf.d"
    out.mkdir(exist_ok=True)
    return CliRunner().invoke(
        app, ["tunnel", "render", "--outputs", str(outputs_file), "--out-dir", str(out), *extra]
    )


def test_cli_writes_both_files_and_never_prints_the_key(tmp_path: Path) -> None:
    psk_file = tmp_path / "psk"
    psk_file.write_text(PSK + "\n")  # as `az keyvault secret show -o tsv` writes it
    result = _render(tmp_path, "--psk-file", str(psk_file))
    assert result.exit_code == 0, result.output
    assert PSK not in result.output
    conf = tmp_path / "conf.d" / "spyops-azure.conf"
    secrets = tmp_path / "conf.d" / "spyops-azure.secrets.conf"
    assert PSK not in conf.read_text()
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert "IKE aes256-sha256-modp2048; ESP aes256gcm16-modp2048" in result.output
    assert "ip route add blackhole 10.0.0.0/16" in result.output
    assert sorted(p.name for p in (tmp_path / "conf.d").iterdir()) == [
        "spyops-azure.conf",
        "spyops-azure.secrets.conf",
    ]


def test_cli_refuses_a_weak_policy_in_one_line(tmp_path: Path) -> None:
    psk_file = tmp_path / "psk"
    psk_file.write_text(PSK)
    weak = seeds_outputs_json(policy=_policy(dh_group="DHGroup2"))
    result = _render(tmp_path, "--psk-file", str(psk_file), outputs=weak)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: vpn_ipsec_policy.dh_group: DHGroup2 is weaker than the edge accepts; use one of "
        "DHGroup14, DHGroup2048, DHGroup24, ECP256, ECP384"
    ]
    assert not list((tmp_path / "conf.d").iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: give exactly one of --psk-file and --psk-secret"),
        (["--psk-file", "/nonexistent/psk"], "error: --psk-file /nonexistent/psk: No such file or directory"),
        (["--psk-secret", "a/b/c"], "error: --psk-secret 'a/b/c': expected NAME or NAMESPACE/NAME"),
    ],
)
def test_cli_psk_source_errors(tmp_path: Path, args: list[str], message: str) -> None:
    result = _render(tmp_path, *args)
    assert result.exit_code == 2
    assert result.output.strip() == message


def test_cli_refuses_empty_key_and_bad_json(tmp_path: Path) -> None:
    psk_file = tmp_path / "psk"
    psk_file.write_text("\n")
    result = _render(tmp_path, "--psk-file", str(psk_file))
    assert result.output.strip() == f"error: --psk-file {psk_file}: the pre-shared key is empty"
    psk_file.write_text(PSK)
    result = _render(tmp_path, "--psk-file", str(psk_file), outputs="{not json")
    assert result.exit_code == 2
    assert result.output.strip().startswith(f"error: --outputs {tmp_path / 'outputs.json'}: not JSON (line 1")


def test_outputs_accept_plain_values_too() -> None:
    wrapped = tofu_outputs(["203.0.113.21"], "203.0.113.10", ["10.0.0.0/16"], ["192.168.1.0/24"])
    plain = {name: entry["value"] for name, entry in wrapped.items()}
    assert parse_outputs(plain) == parse_outputs(wrapped)
