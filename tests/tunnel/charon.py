"""Debian's charon in one network namespace, in its own mount namespace, driven over its own VICI socket."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from tests.tunnel.netns import LabError, Netns, run

CHARON = Path("/usr/lib/ipsec/charon")
SWANCTL = "swanctl"


def _stop(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class Charon:
    """Debian's charon in one namespace, driven over its own VICI socket; ESP through kernel-libipsec."""

    netns: Netns
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"unix://{self.workdir / 'run' / 'charon.vici'}"

    @property
    def swanctl_dir(self) -> Path:
        return self.workdir / "swanctl"

    @property
    def log_path(self) -> Path:
        return self.workdir / "charon.log"

    def _write_conf(self) -> Path:
        # Debian's own strongswan.conf (every installed plugin via strongswan.d), plus the one
        # difference from production: ESP in user space through kernel-libipsec, since this
        # kernel has no ESP. The VICI socket and log are per instance.
        conf = self.workdir / "strongswan.conf"
        conf.write_text(
            f"""charon {{
  load_modular = yes
  plugins {{
    include /etc/strongswan.d/charon/*.conf
    kernel-libipsec {{
      load = yes
    }}
    vici {{
      socket = {self.uri}
    }}
  }}
  filelog {{
    lab {{
      path = {self.log_path}
      default = 1
      ike = 2
      time_format = %H:%M:%S
      flush_line = yes
    }}
  }}
}}
swanctl {{
  load = pem pkcs1 pkcs8 x509 openssl random nonce
  socket = {self.uri}
}}
"""
        )
        return conf

    def env(self) -> dict[str, str]:
        return {**os.environ, "STRONGSWAN_CONF": str(self.workdir / "strongswan.conf")}

    def start(self) -> Self:
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        (self.swanctl_dir / "conf.d").mkdir(parents=True, exist_ok=True)
        self._write_conf()
        # A private /run (charon's PID file and stroke socket are fixed there at build time).
        script = f"mount --bind {shlex.quote(str(self.workdir / 'run'))} /run && exec {CHARON}"
        argv = self.netns.exec_argv("unshare", "--mount", "--propagation", "private", "sh", "-c", script)
        with (self.workdir / "charon.stdout").open("wb") as sink:
            self.process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=self.env())
        socket_path = self.workdir / "run" / "charon.vici"
        deadline = time.monotonic() + 30
        while not socket_path.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise LabError(
                    f"charon in {self.netns.name} did not open its VICI socket:\n{self.logs()[-3000:]}"
                )
            time.sleep(0.05)
        return self

    def swanctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run([SWANCTL, *args, "--uri", self.uri], env=self.env(), check=check)

    def load_all(self) -> str:
        """`swanctl --load-all` of this instance's swanctl.conf (Debian's: include conf.d/*.conf)."""
        return self.swanctl(
            "--load-all", "--noprompt", "--file", str(self.swanctl_dir / "swanctl.conf")
        ).stdout

    def list_sas(self) -> str:
        return self.swanctl("--list-sas").stdout

    def logs(self) -> str:
        parts = [
            p.read_text(errors="replace")
            for p in (self.workdir / "charon.stdout", self.log_path)
            if p.exists()
        ]
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
