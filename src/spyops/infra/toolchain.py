"""OpenTofu, the azurerm provider and checkov, built or installed once into ~/.cache/spyops.

OpenTofu and the provider are built from pinned wrapper Go modules (like the
control-plane binaries). The provider is laid out as a filesystem mirror and a
CLI config file points tofu at it with no other installation source, so `tofu
init` never touches the network. checkov gets its own virtualenv because its
dependency pins clash with ours.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from spyops.toolchain import GoBuildError, GoTool, build_go_tools, cache_root

TOFU_MODULE_DIR = Path(__file__).parent / "gomodule-tofu"
AZURERM_MODULE_DIR = Path(__file__).parent / "gomodule-azurerm"

# The Go proxy serves the provider only as a pseudo-version of a main commit
# (its v4/v5 tags lack a /vN module path); that commit is v5.2.0 plus four
# days of main. The mirror needs a plain semver label, so it is filed as
# 5.2.0; gomodule-azurerm/go.mod names the exact commit.
AZURERM_MIRROR_VERSION = "5.2.0"
AZURE_MODULE_PIN = "v1.44.1-0.20260824201233-fae580791926"
CHECKOV_VERSION = "3.3.30"

# tofu resolves "hashicorp/azurerm" on registry.opentofu.org, Terraform on
# registry.terraform.io: the mirror answers for both.
REGISTRY_HOSTS = ("registry.opentofu.org", "registry.terraform.io")
PLATFORM = "linux_amd64"


class InfraToolError(RuntimeError):
    """A tool is missing or could not be built; the message says what to do."""


@dataclass(frozen=True)
class InfraTools:
    tofu: Path
    cli_config: Path  # TF_CLI_CONFIG_FILE: the local mirror, nothing else
    mirror: Path

    def env(self, base: dict[str, str] | None = None, *, local_mirror: bool = True) -> dict[str, str]:
        """Environment for running tofu: no update checks, no prompts, and (by default) the mirror-only CLI config.

        Without local_mirror, tofu installs providers from the registry as usual
        (the signed releases a real deployment wants, pinned by the lock file).
        """
        env = dict(os.environ if base is None else base)
        if local_mirror:
            env["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
        env["TF_IN_AUTOMATION"] = "1"
        env["TF_INPUT"] = "0"
        env["CHECKPOINT_DISABLE"] = "1"
        return env


def pinned_tofu_version() -> str:
    text = (TOFU_MODULE_DIR / "go.mod").read_text()
    match = re.search(r"^\s*(?:require\s+)?github\.com/opentofu/opentofu (v\S+)", text, re.MULTILINE)
    if match is None:
        raise InfraToolError(f"github.com/opentofu/opentofu is not pinned in {TOFU_MODULE_DIR / 'go.mod'}")
    return match.group(1)


def tofu_tool() -> GoTool:
    # version.dev=no makes `tofu version` report the release, not "-dev".
    return GoTool(
        "tofu",
        "github.com/opentofu/opentofu/cmd/tofu",
        ("-s", "-w", "-X github.com/opentofu/opentofu/version.dev=no"),
    )


def azurerm_tool() -> GoTool:
    return GoTool(
        "terraform-provider-azurerm",
        "github.com/hashicorp/terraform-provider-azurerm",
        (
            "-s",
            "-w",
            f"-X github.com/hashicorp/terraform-provider-azurerm/version.ProviderVersion={AZURERM_MIRROR_VERSION}",
        ),
    )


def _infra_root() -> Path:
    return cache_root() / "terraform"


def mirror_dir() -> Path:
    return _infra_root() / "provider-mirror"


def cli_config_path() -> Path:
    return _infra_root() / "tofu.tfrc"


def render_cli_config(mirror: Path) -> str:
    """A CLI config whose only provider source is the local mirror (no direct installation)."""
    includes = ", ".join(f'"{host}/hashicorp/azurerm"' for host in REGISTRY_HOSTS)
    return (
        "# Written by `spyops infra build-tools`: providers come from the local mirror only.\n"
        "disable_checkpoint = true\n\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        f"    include = [{includes}]\n"
        "  }\n"
        "}\n"
    )


def _install_into_mirror(provider_binary: Path, mirror: Path) -> None:
    for host in REGISTRY_HOSTS:
        target_dir = mirror / host / "hashicorp" / "azurerm" / AZURERM_MIRROR_VERSION / PLATFORM
        target = target_dir / f"terraform-provider-azurerm_v{AZURERM_MIRROR_VERSION}"
        if target.is_file() and target.stat().st_size == provider_binary.stat().st_size:
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        staging = target_dir / f".{target.name}.tmp"
        try:
            os.link(provider_binary, staging)  # same filesystem: no copy of ~200 MB
        except OSError:
            shutil.copy2(provider_binary, staging)
        staging.chmod(0o755)
        staging.replace(target)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and path.read_text() == text:
        return
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as handle:
        handle.write(text)
    Path(handle.name).replace(path)


def ensure_tools(progress: Callable[[str], None] | None = None) -> InfraTools:
    """Build (once) tofu and the azurerm provider, lay out the mirror and write the CLI config."""
    tofu = build_go_tools(TOFU_MODULE_DIR, [tofu_tool()], cache_subdir="tofu", progress=progress)["tofu"]
    provider = build_go_tools(
        AZURERM_MODULE_DIR, [azurerm_tool()], cache_subdir="terraform-providers", progress=progress
    )["terraform-provider-azurerm"]
    mirror = mirror_dir()
    _install_into_mirror(provider, mirror)
    _write_atomically(cli_config_path(), render_cli_config(mirror))
    return InfraTools(tofu=tofu, cli_config=cli_config_path(), mirror=mirror)


def find_tools(*, require_mirror: bool = True) -> InfraTools:
    """The built tools, without building; a clear error when `spyops infra build-tools` has not run."""
    candidates = sorted((cache_root() / "tofu").glob("*/tofu"), key=lambda p: p.stat().st_mtime, reverse=True)
    built = [path for path in candidates if (path.parent / "manifest.json").is_file()]
    provider = mirror_dir() / REGISTRY_HOSTS[0] / "hashicorp" / "azurerm" / AZURERM_MIRROR_VERSION / PLATFORM
    mirror_ready = cli_config_path().is_file() and any(provider.glob("terraform-provider-azurerm_*"))
    if not built or (require_mirror and not mirror_ready):
        raise InfraToolError(
            f"OpenTofu or the azurerm provider mirror is missing under {_infra_root().parent}; "
            "run `spyops infra build-tools` (or `make terraform-tools`) first"
        )
    return InfraTools(tofu=built[0], cli_config=cli_config_path(), mirror=mirror_dir())


def checkov_venv() -> Path:
    return cache_root() / f"checkov-venv-{CHECKOV_VERSION}"


def ensure_checkov(progress: Callable[[str], None] | None = None) -> Path:
    """checkov in its own virtualenv under the cache (pinned), created once.

    A virtualenv cannot be moved after creation (its scripts name their own
    path), so it is built in place under a lock and marked complete last; an
    unmarked one is a crashed attempt and is rebuilt.
    """
    say = progress or (lambda _message: None)
    venv = checkov_venv()
    checkov = venv / "bin" / "checkov"
    marker = venv / ".complete"
    lock = venv.with_name(venv.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if marker.is_file() and checkov.is_file():
                return checkov
            shutil.rmtree(venv, ignore_errors=True)
            say(f"installing checkov {CHECKOV_VERSION} into {venv} ...")
            try:
                subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
                subprocess.run(
                    [
                        str(venv / "bin" / "pip"),
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        f"checkov=={CHECKOV_VERSION}",
                    ],
                    check=True,
                )
            except subprocess.CalledProcessError as error:
                shutil.rmtree(venv, ignore_errors=True)
                raise InfraToolError(f"installing checkov {CHECKOV_VERSION} failed: {error}") from error
            marker.write_text(CHECKOV_VERSION + "\n")
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return checkov


__all__ = [
    "AZURERM_MIRROR_VERSION",
    "AZURE_MODULE_PIN",
    "CHECKOV_VERSION",
    "GoBuildError",
    "InfraToolError",
    "InfraTools",
    "ensure_checkov",
    "ensure_tools",
    "find_tools",
    "pinned_tofu_version",
    "render_cli_config",
]
