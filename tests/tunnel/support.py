"""Steps shared by the tunnel tests: the Azure side's policy, the edge's README steps, traffic, waiting."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from spyops.common.polling import wait_for
from tests.tunnel.charon import Charon
from tests.tunnel.lab import (
    AZURE_GATEWAYS,
    AZURE_HOST,
    AZURE_SPACE,
    EDGE_LAN,
    EDGE_WAN,
    ONPREM_SPACE,
    TunnelLab,
)
from tests.tunnel.netns import LabError, in_netns
from tests.tunnel.outputs_fixture import seeds_outputs_json
from tests.tunnel.sas import IkeSa, established, parse_list_sas

PSK = "lab-psk-9d1f7a2c0b"  # a throwaway key that exists only inside the lab
T = TypeVar("T")

# What an Azure VPN gateway with the seeds' custom policy sends and accepts, written out by hand
# (not rendered by the code under test): IKE AES256/SHA256/DHGroup14 with Azure's fixed 28,800 s
# IKE SA lifetime, ESP GCMAES256 with PFS2048 and 27,000 s. One connection per gateway instance.
_AZURE_CONNECTION = """
  instance-{index} {{
    version = 2
    local_addrs = {gateway}
    remote_addrs = {edge}
    proposals = aes256-sha256-modp2048
    rekey_time = 28800s
    local {{
      auth = psk
      id = {gateway}
    }}
    remote {{
      auth = psk
      id = {edge}
    }}
    children {{
      instance-{index} {{
        local_ts = {azure}
        remote_ts = {onprem}
        esp_proposals = {esp}
        life_time = 27000s
      }}
    }}
  }}"""


def azure_side_conf(esp: str = "aes256gcm16-modp2048") -> str:
    connections = "".join(
        _AZURE_CONNECTION.format(
            index=i, gateway=g, edge=EDGE_WAN, azure=AZURE_SPACE, onprem=ONPREM_SPACE, esp=esp
        )
        for i, g in enumerate(AZURE_GATEWAYS)
    )
    secret = f"""secrets {{
  ike-edge {{
    id-1 = {EDGE_WAN}
    secret = "{PSK}"
  }}
}}
"""
    return f"connections {{{connections}\n}}\n{secret}"


def start_azure_side(lab: TunnelLab, esp: str = "aes256gcm16-modp2048") -> Charon:
    azure = lab.start_charon("azure")
    (azure.swanctl_dir / "swanctl.conf").write_text(azure_side_conf(esp))
    azure.load_all()
    return azure


def _spyops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spyops", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def render_edge(lab: TunnelLab, outputs_json: str | None = None) -> subprocess.CompletedProcess[str]:
    """The README's edge steps: the outputs and the key in files, `spyops tunnel render` into conf.d."""
    workdir = lab.workdir / "deploy"
    workdir.mkdir(parents=True, exist_ok=True)
    outputs = workdir / "outputs.json"
    outputs.write_text(outputs_json or seeds_outputs_json(gateway_ips=list(AZURE_GATEWAYS), edge_ip=EDGE_WAN))
    psk = workdir / "vpn-shared-key"
    psk.touch(mode=0o600)
    psk.write_text(PSK + "\n")
    conf_d = lab.charons["edge"].swanctl_dir / "conf.d"
    return _spyops(
        "tunnel", "render", "--outputs", str(outputs), "--psk-file", str(psk), "--out-dir", str(conf_d)
    )


def check_edge(lab: TunnelLab) -> subprocess.CompletedProcess[str]:
    """The README's `spyops tunnel check` of the rendered file against the same outputs."""
    outputs = lab.workdir / "deploy" / "outputs.json"
    conf = lab.charons["edge"].swanctl_dir / "conf.d" / "spyops-azure.conf"
    return _spyops("tunnel", "check", "--outputs", str(outputs), "--conf", str(conf))


def start_edge(lab: TunnelLab) -> Charon:
    edge = lab.start_charon("edge")
    # Debian's /etc/swanctl/swanctl.conf is this one line; the rendered files go to conf.d/.
    (edge.swanctl_dir / "swanctl.conf").write_text("include conf.d/*.conf\n")
    return edge


def wait_until(what: str, probe: Callable[[], T | None], timeout: float, lab: TunnelLab) -> T:
    """Poll ``probe``; a timeout shows the charons' logs."""
    return wait_for(what, probe, timeout, 0.1, error=lambda message: LabError(f"{message}\n{lab.logs()}"))


def wait_established(lab: TunnelLab, names: set[str], timeout: float = 30) -> dict[str, IkeSa]:
    edge = lab.charons["edge"]

    def up() -> dict[str, IkeSa] | None:
        found = established(parse_list_sas(edge.list_sas()))
        return found if names <= set(found) else None

    return wait_until(f"IKE and CHILD SAs {sorted(names)}", up, timeout, lab)


@contextlib.contextmanager
def echo_server(lab: TunnelLab, host: str = AZURE_HOST) -> Iterator[int]:
    """A TCP echo service on the Azure side's private endpoint; yields its port."""
    with in_netns(lab.azure.name):
        server = socket.create_server((host, 0))
    port = int(server.getsockname()[1])

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                while data := conn.recv(65536):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(timeout=5)


def echo_from_edge(lab: TunnelLab, port: int, payload: bytes, timeout: float = 10) -> tuple[str, bytes]:
    """Send ``payload`` from the edge's range (192.168.1.1) to the Azure endpoint; return (source, echo)."""
    with in_netns(lab.edge.name):
        conn = socket.create_connection((AZURE_HOST, port), timeout=timeout, source_address=(EDGE_LAN, 0))
    with conn:
        source = str(conn.getsockname()[0])
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        received = bytearray()
        while chunk := conn.recv(65536):
            received += chunk
    return source, bytes(received)
