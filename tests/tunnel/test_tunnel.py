"""A real IPsec tunnel: Debian's strongSwan in two network namespaces, the edge configured by
`spyops tunnel render` exactly as the README's deploy steps say, the Azure side holding the seeds'
policy. ESP runs through kernel-libipsec (this kernel has no ESP); the rendered files are the
production ones."""

from __future__ import annotations

import errno
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tunnel import lab as lab_module
from tests.tunnel.lab import AZURE_HOST, AZURE_SPACE, EDGE_LAN, TunnelLab, require_lab_tools
from tests.tunnel.netns import LabError, in_netns, run, sweep_stale_labs
from tests.tunnel.outputs_fixture import SEEDS_POLICY, seeds_outputs_json
from tests.tunnel.sas import established, parse_list_sas
from tests.tunnel.support import (
    PSK,
    check_edge,
    echo_from_edge,
    echo_server,
    render_edge,
    start_azure_side,
    start_edge,
    wait_established,
    wait_until,
)

IKE_PROPOSAL = "AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"
ESP_PROPOSAL = "ESP:AES_GCM_16-256"
ESP_PROPOSAL_AFTER_PFS_REKEY = "ESP:AES_GCM_16-256/MODP_2048"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[TunnelLab]:
    with TunnelLab(tmp_path / "lab") as made:
        yield made


def test_rendered_edge_config_brings_both_tunnels_up_with_the_seeds_proposal(lab: TunnelLab) -> None:
    start_azure_side(lab)
    edge = start_edge(lab)
    rendered = render_edge(lab)
    assert rendered.returncode == 0, rendered.stderr
    assert PSK not in rendered.stdout + rendered.stderr
    checked = check_edge(lab)
    assert checked.returncode == 0, checked.stderr
    loaded = edge.load_all()
    assert "loaded connection 'azure-0'" in loaded
    assert "loaded connection 'azure-1'" in loaded
    assert "loaded ike secret 'ike-azure-0'" in loaded

    # Both instances of the active-active gateway: one IKE SA and one CHILD_SA each.
    sas = wait_established(lab, {"azure-0", "azure-1"})
    for name in ("azure-0", "azure-1"):
        assert sas[name].version == 2
        assert sas[name].proposal == IKE_PROPOSAL
        (child,) = [c for c in sas[name].children if c.state == "INSTALLED"]
        # The first CHILD_SA takes its keys from IKE: no PFS group shows until a rekey.
        assert child.proposal == ESP_PROPOSAL
        assert child.mode == "TUNNEL-in-UDP"  # kernel-libipsec always encapsulates in UDP 4500
        assert child.expires_in is not None
        assert 26_900 <= child.expires_in <= 27_000  # the policy's sa_lifetime

    # PFS: a CHILD_SA rekey runs a fresh DH14 exchange, and the proposal now shows the group.
    edge.swanctl("--rekey", "--child", "azure-0")

    def rekeyed() -> bool:
        sa = established(parse_list_sas(edge.list_sas())).get("azure-0")
        return sa is not None and any(
            c.state == "INSTALLED" and c.proposal == ESP_PROPOSAL_AFTER_PFS_REKEY for c in sa.children
        )

    wait_until("a CHILD_SA rekeyed with PFS (MODP_2048)", rekeyed, 30, lab)

    # Traffic from the edge's range to the VNet goes through the tunnel and comes back.
    with echo_server(lab) as port:
        before = _esp_bytes(lab)
        payload = os.urandom(200_000)
        source, echoed = echo_from_edge(lab, port, payload)
        assert source == EDGE_LAN
        assert echoed == payload
        after = _esp_bytes(lab)
        assert after[0] - before[0] >= len(payload)  # out: through an ESP SA, not around it
        assert after[1] - before[1] >= len(payload)  # in

        # One gateway instance goes away: the other tunnel carries the traffic.
        carrier = _busiest(lab)
        edge.swanctl("--terminate", "--ike", carrier)
        survivor = ({"azure-0", "azure-1"} - {carrier}).pop()
        wait_until(
            f"{carrier} gone, {survivor} up",
            lambda: set(established(parse_list_sas(edge.list_sas()))) == {survivor},
            30,
            lab,
        )
        source, echoed = echo_from_edge(lab, port, b"still here")
        assert echoed == b"still here"


def test_the_blackhole_route_keeps_vnet_traffic_off_the_default_route(lab: TunnelLab) -> None:
    """Without ESP SAs nothing routes 10.0.0.0/16 into the tunnel; the README's blackhole route makes
    sure such packets are dropped instead of leaving unencrypted by the default route."""
    start_azure_side(lab)
    edge = start_edge(lab)
    assert render_edge(lab).returncode == 0
    edge.load_all()
    wait_established(lab, {"azure-0", "azure-1"})
    lab.edge.ip("route", "add", "default", "via", "203.0.113.1")  # the edge's "internet" uplink

    def route() -> str:
        # The kernel's routing decision; for a blackhole route it answers EINVAL.
        found = lab.edge.ip("route", "get", AZURE_HOST, check=False)
        return found.stdout if found.returncode == 0 else found.stderr

    assert "dev ipsec0" in route()  # up: the tunnel's route (table 220) wins
    for name in ("azure-0", "azure-1"):
        edge.swanctl("--terminate", "--ike", name)
    wait_until("no SA left", lambda: established(parse_list_sas(edge.list_sas())) == {}, 30, lab)
    assert "via 203.0.113.1 dev wan0" in route()  # down, without the blackhole: it would leak
    lab.edge.ip("route", "add", "blackhole", AZURE_SPACE)
    assert "Invalid argument" in route()
    with pytest.raises(OSError, match="Invalid argument") as dropped, in_netns(lab.edge.name):
        socket.create_connection((AZURE_HOST, 443), timeout=2)
    assert dropped.value.errno == errno.EINVAL  # dropped on the spot, nothing sent
    for name in ("azure-0", "azure-1"):
        edge.swanctl("--initiate", "--ike", name, "--child", name, "--timeout", "20")
    assert "dev ipsec0" in route()  # back up: the tunnel wins over the blackhole


def test_a_proposal_outside_azures_policy_is_not_negotiated(lab: TunnelLab) -> None:
    """The Azure side accepts only its policy: an edge rendered for another policy gets no tunnel."""
    start_azure_side(lab)
    edge = start_edge(lab)
    other = seeds_outputs_json(policy={**SEEDS_POLICY, "dh_group": "ECP256", "pfs_group": "ECP256"})
    rendered = render_edge(lab, other)
    assert rendered.returncode == 0, rendered.stderr
    edge.load_all()
    wait_until("NO_PROPOSAL_CHOSEN in the edge's log", lambda: "NO_PROPOSAL_CHOSEN" in edge.logs(), 30, lab)
    assert established(parse_list_sas(edge.list_sas())) == {}


def _esp_bytes(lab: TunnelLab) -> tuple[int, int]:
    sas = parse_list_sas(lab.charons["edge"].list_sas())
    children = [c for sa in sas for c in sa.children]
    return sum(c.bytes_out for c in children), sum(c.bytes_in for c in children)


def _busiest(lab: TunnelLab) -> str:
    sas = established(parse_list_sas(lab.charons["edge"].list_sas()))
    return max(sas, key=lambda name: sum(c.bytes_out for c in sas[name].children))


def test_a_lab_left_by_a_killed_run_is_swept() -> None:
    """SIGKILL skips teardown; the next lab removes what the dead run left (only runs whose pid is gone)."""
    require_lab_tools()
    finished = subprocess.Popen(["true"])
    finished.wait()
    name = f"spyt-{finished.pid}-{secrets.token_hex(3)}-edge"
    run(["ip", "netns", "add", name])
    leftover = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "300"])
    try:
        wait_for_pids = time.monotonic() + 10
        while not run(["ip", "netns", "pids", name]).stdout.strip() and time.monotonic() < wait_for_pids:
            time.sleep(0.05)
        mine = f"spyt-{os.getpid()}-{secrets.token_hex(3)}-edge"
        run(["ip", "netns", "add", mine])
        try:
            assert name in sweep_stale_labs()
            assert leftover.wait(timeout=10) == -signal.SIGKILL
            listed = run(["ip", "netns", "list"]).stdout
            assert name not in listed
            assert mine in listed  # a live run's lab is left alone
        finally:
            run(["ip", "netns", "del", mine], check=False)
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()
        run(["ip", "netns", "del", name], check=False)


def test_missing_strongswan_is_a_failure_naming_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(lab_module, "CHARON", tmp_path / "charon")
    monkeypatch.setattr(lab_module, "PLUGINS", tmp_path)
    with pytest.raises(LabError) as error:
        require_lab_tools()
    message = str(error.value)
    assert str(tmp_path / "charon") in message
    assert f"strongSwan's kernel-libipsec plugin ({tmp_path}/libstrongswan-kernel-libipsec.so)" in message
    assert message.endswith("(`make strongswan` installs Debian's strongSwan)")
    assert not issubclass(LabError, pytest.skip.Exception)  # a failure, never a skip
