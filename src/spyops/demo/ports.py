"""The demo's fixed ports: one base, fixed offsets, all checked before anything starts."""

from __future__ import annotations

from dataclasses import dataclass

from spyops.cluster.controlplane import port_is_free

DEFAULT_PORT_BASE = 8000
MAX_BOT_REPLICAS = 10
PORT_SPAN = 10 + MAX_BOT_REPLICAS + 4  # offsets 0..23: bots 10..19, monitoring 20..23


class PortInUseError(RuntimeError):
    pass


@dataclass(frozen=True)
class DemoPorts:
    """Every port the demo listens on, derived from ``base`` (the dashboard is ``base`` itself)."""

    base: int

    @property
    def backend(self) -> int:
        return self.base

    @property
    def apiserver(self) -> int:
        return self.base + 1

    @property
    def gateway_api(self) -> int:
        return self.base + 2

    @property
    def gateway_control(self) -> int:
        return self.base + 3

    @property
    def azure_arm(self) -> int:
        return self.base + 4

    @property
    def azure_control(self) -> int:
        return self.base + 5

    @property
    def operator_metrics(self) -> int:
        return self.base + 6

    @property
    def detector_signals(self) -> int:
        return self.base + 7

    @property
    def detector_metrics(self) -> int:
        return self.base + 8

    def bot_probe(self, ordinal: int) -> int:
        if not 0 <= ordinal < MAX_BOT_REPLICAS:
            raise ValueError(f"the demo runs at most {MAX_BOT_REPLICAS} bot replicas, got ordinal {ordinal}")
        return self.base + 10 + ordinal

    @property
    def prometheus(self) -> int:
        return self.base + 20

    @property
    def alertmanager(self) -> int:
        return self.base + 21

    @property
    def smtp(self) -> int:
        return self.base + 22

    @property
    def telegram(self) -> int:
        return self.base + 23

    def named(self, bot_replicas: int) -> list[tuple[str, int]]:
        """(what listens there, port) for every port the demo will open."""
        ports = [
            ("backend and dashboard", self.backend),
            ("kube-apiserver", self.apiserver),
            ("gateway simulator TWS API", self.gateway_api),
            ("gateway simulator control API", self.gateway_control),
            ("azure-sim ARM endpoint (HTTPS)", self.azure_arm),
            ("azure-sim control API", self.azure_control),
            ("operator /metrics", self.operator_metrics),
            ("detector signal stream", self.detector_signals),
            ("detector /metrics", self.detector_metrics),
        ]
        ports += [(f"bot replica {i} /metrics", self.bot_probe(i)) for i in range(bot_replicas)]
        ports += [
            ("Prometheus", self.prometheus),
            ("Alertmanager", self.alertmanager),
            ("local SMTP server (email receiver)", self.smtp),
            ("local Telegram Bot API stand-in", self.telegram),
        ]
        return ports


def validate_port_base(base: int) -> None:
    if not 1024 <= base <= 65535 - PORT_SPAN:
        raise ValueError(f"--port-base must be between 1024 and {65535 - PORT_SPAN}, got {base}")


def check_ports_free(ports: DemoPorts, bot_replicas: int, host: str = "127.0.0.1") -> None:
    """Fail, naming the first busy port and how to move, before anything is started."""
    busy = [(what, port) for what, port in ports.named(bot_replicas) if not port_is_free(port, host)]
    if busy:
        listing = ", ".join(f"{port} ({what})" for what, port in busy)
        raise PortInUseError(
            f"port {listing} on {host} {'is' if len(busy) == 1 else 'are'} already in use. "
            f"Stop whatever listens there, or move every demo port with --port-base N "
            f"(the demo uses N..N+{PORT_SPAN - 1}; now {ports.base}..{ports.base + PORT_SPAN - 1})."
        )
