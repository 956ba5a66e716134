"""Where the pre-shared key comes from: a file (e.g. written from Key Vault) or a Kubernetes Secret."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from spyops.tunnel.policy import TunnelConfigError
from spyops.tunnel.render import normalize_psk


def read_psk_file(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TunnelConfigError(f"--psk-file {path}: {exc.strerror or exc}") from None
    return normalize_psk(raw, f"--psk-file {path}")


def split_secret_ref(ref: str) -> tuple[str | None, str]:
    """``[namespace/]name`` -> (namespace or None, name)."""
    namespace, _, name = ref.rpartition("/")
    if not name or "/" in namespace:
        raise TunnelConfigError(f"--psk-secret {ref!r}: expected NAME or NAMESPACE/NAME")
    return (namespace or None), name


def read_psk_secret(ref: str, key: str, kubeconfig: Path | None) -> bytes:
    """The key from a Secret's ``data[key]``, read with the kubeconfig's credentials."""
    import httpx
    from lightkube import ApiError, Client, ConfigError, KubeConfig
    from lightkube.resources.core_v1 import Secret

    namespace, name = split_secret_ref(ref)
    where = f"--psk-secret {ref}"
    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        client = Client(config, namespace=namespace) if namespace else Client(config)
        secret = client.get(Secret, name, namespace=namespace)
    except ConfigError as exc:
        raise TunnelConfigError(f"{where}: no usable kubeconfig ({exc})") from None
    except ApiError as exc:
        raise TunnelConfigError(
            f"{where}: {exc.status.code} {exc.status.reason}: {exc.status.message}"
        ) from None
    except httpx.HTTPError as exc:
        raise TunnelConfigError(f"{where}: cannot reach the API server ({exc})") from None
    data = secret.data or {}
    if key not in data:
        present = ", ".join(sorted(data)) or "none"
        raise TunnelConfigError(f"{where}: the Secret has no key {key!r} (keys: {present}); set --psk-key")
    try:
        raw = base64.b64decode(data[key], validate=True)
    except binascii.Error:
        raise TunnelConfigError(f"{where}: data[{key!r}] is not base64") from None
    return normalize_psk(raw, f"{where} key {key}")
