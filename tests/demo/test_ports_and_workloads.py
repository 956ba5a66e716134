"""Ports (all checked up front, a clear message) and how pods become local processes."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from spyops.demo.ports import DemoPorts, PortInUseError, check_ports_free, validate_port_base
from spyops.demo.workloads import available_workloads, gateway_sim_argv, local_argv, pod_command_args

REPO = Path(__file__).resolve().parents[2]


def test_ports_are_distinct_and_the_dashboard_is_the_base() -> None:
    ports = DemoPorts(9000)
    named = ports.named(bot_replicas=10)
    assert ports.backend == 9000
    assert len({port for _, port in named}) == len(named) == 23
    assert max(port for _, port in named) == 9023
    assert (ports.prometheus, ports.alertmanager) == (9020, 9021)


def test_a_busy_port_is_named_with_the_option_to_move() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        ports = DemoPorts(busy - 3)  # the busy one is the gateway simulator's control API
        with pytest.raises(PortInUseError) as caught:
            check_ports_free(ports, bot_replicas=3)
    message = str(caught.value)
    assert f"{busy} (gateway simulator control API)" in message
    assert "--port-base" in message


@pytest.mark.parametrize("base", [80, 65530])
def test_port_base_out_of_range(base: int) -> None:
    with pytest.raises(ValueError, match="--port-base"):
        validate_port_base(base)


def test_gateway_pod_command_becomes_a_local_simulator() -> None:
    pod = ["spyops", "gateway-sim", "--host", "0.0.0.0", "--port", "4002", "--control-port", "8081",
           "--control-host", "0.0.0.0", "--scenario", "anomalies", "--seed", "42"]  # fmt: skip
    argv, notes = gateway_sim_argv("/py", pod, DemoPorts(18000), 4.0)
    assert argv == ["/py", "-m", "spyops", "gateway-sim", "--seed", "42", "--host", "127.0.0.1", "--port",
                    "18002", "--control-host", "127.0.0.1", "--control-port", "18003", "--scenario", "anomalies",
                    "--anomalies-per-minute", "4"]  # fmt: skip
    assert "--scenario anomalies: --anomalies-per-minute 4" in notes


def test_gateway_scenario_names_pass_through_unchanged() -> None:
    # The simulator resolves the names itself (the pod runs the rendered command as is).
    base = ["spyops", "gateway-sim", "--port", "4002", "--scenario"]
    argv, _ = gateway_sim_argv("/py", [*base, "demo-day"], DemoPorts(18000), 4.0)
    assert argv[-2:] == ["--scenario", "demo-day"]
    argv, _ = gateway_sim_argv("/py", [*base, "calm"], DemoPorts(18000), 4.0)
    assert argv[-2:] == ["--scenario", "calm"]
    with pytest.raises(ValueError, match="scenario 'volatile' is not one the simulator knows"):
        gateway_sim_argv("/py", [*base, "volatile"], DemoPorts(18000), 4.0)


def test_workload_argv_points_config_at_the_mirrored_file() -> None:
    container = {"command": ["spyops", "bot", "--config", "/etc/spyops/config.json"]}
    argv = local_argv("/py", pod_command_args(container), Path("/tmp/c.json"), ["--probe-port", "18010"])
    assert argv == ["/py", "-m", "spyops", "bot", "--config", "/tmp/c.json", "--probe-port", "18010"]
    with pytest.raises(ValueError, match="expected the container to run"):
        local_argv("/py", ["python", "x.py"], Path("/tmp/c.json"), [])


def test_workloads_join_when_their_command_exists() -> None:
    present, missing = available_workloads({"detector", "backend"})
    assert [w.component for w in present] == ["detector"]
    assert missing == ["bot"]
