"""The simulator starts from exactly the command the operator renders for an IBKRGateway (scenario by
name, as the CRD takes it), with nothing mapped in between: what the pod runs, run here as a process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from spyops.cluster.controlplane import free_port
from spyops.operator.api.gateway import IBKRGatewaySpec
from spyops.operator.builders.common import Owner
from spyops.operator.builders.gateway import GatewayInputs, build_statefulset

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ibkrgateway-simulator.yaml"


def _rendered_command(scenario: str, api_port: int, control_port: int) -> list[str]:
    example = yaml.safe_load(EXAMPLE.read_text())
    spec = dict(example["spec"], apiPort=api_port)
    spec["simulator"] = dict(spec["simulator"], scenario=scenario, controlPort=control_port)
    inputs = GatewayInputs(
        Owner("IBKRGateway", "paper-sim", "ns", "uid"), IBKRGatewaySpec.model_validate(spec), "img"
    )
    container = build_statefulset(inputs)["spec"]["template"]["spec"]["containers"][0]
    command: list[str] = container["command"]
    return command


@pytest.mark.parametrize("scenario", ["anomalies", "calm"])
def test_rendered_simulator_command_starts(scenario: str) -> None:
    api_port, control_port = free_port(), free_port()
    command = _rendered_command(scenario, api_port, control_port)
    assert command[:2] == ["spyops", "gateway-sim"]
    # The kubelet's probes and the strategy's pods connect to the pod's address, not to its loopback.
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--control-host") + 1] == "0.0.0.0"
    assert command[command.index("--scenario") + 1] == scenario
    spyops = str(Path(sys.executable).parent / "spyops")
    process = subprocess.Popen(
        [spyops, *command[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, (
                f"the rendered command exited: {process.stdout.read() if process.stdout else ''}"
            )
            try:
                if httpx.get(f"http://127.0.0.1:{control_port}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("the simulator did not become ready within 30 s")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_unknown_scenario_name_is_one_clear_line() -> None:
    spyops = str(Path(sys.executable).parent / "spyops")
    result = subprocess.run(
        [spyops, "gateway-sim", "--port", str(free_port()), "--control-port", str(free_port()), "--scenario", "volatile"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "unknown scenario 'volatile'" in result.stderr
    assert "calm" in result.stderr
    assert "Traceback" not in result.stderr
