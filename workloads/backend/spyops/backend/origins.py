"""Which browser origins may call the backend: CORS for the read API, Origin checks for the stream.

The dashboard may be served from another origin than the API (Azure Static Web Apps in front of
App Service). Those origins are named one by one (``--cors-origins``); nothing wider is allowed
(no ``*``, no patterns), so another site cannot read the API or open the live stream from a
visitor's browser.
"""

from __future__ import annotations

from urllib.parse import urlsplit


class OriginConfigError(ValueError):
    """A configured origin is not of the form scheme://host[:port]; the message names it."""


def normalize_origin(text: str) -> str:
    """``https://Host:443/`` -> ``https://host``: the form browsers send in the Origin header."""
    parsed = urlsplit(text.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise OriginConfigError(f"origin {text!r} must look like https://host or https://host:port")
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise OriginConfigError(f"origin {text!r} must be scheme://host[:port] only, without a path")
    default_port = 443 if parsed.scheme == "https" else 80
    host = parsed.hostname if ":" not in parsed.hostname else f"[{parsed.hostname}]"
    port = "" if parsed.port in (None, default_port) else f":{parsed.port}"
    return f"{parsed.scheme}://{host}{port}"


def parse_origins(text: str) -> tuple[str, ...]:
    """Comma- or space-separated origins (the form an App Service setting can hold), normalized."""
    items = [item for item in text.replace(",", " ").split() if item]
    if "*" in items:
        raise OriginConfigError("'*' is not accepted: name the dashboard's origin(s) explicitly")
    return tuple(dict.fromkeys(normalize_origin(item) for item in items))


def stream_origin_allowed(origin: str | None, host: str | None, allowed: tuple[str, ...]) -> bool:
    """May a WebSocket handshake with this Origin header open the live stream?

    No Origin: not a browser (the edge, a script), allowed like the read API. Same origin as the
    API (the dashboard served by the backend itself): allowed. Otherwise only the named origins.
    """
    if origin is None:
        return True
    try:
        normalized = normalize_origin(origin)
    except OriginConfigError:
        return False
    if normalized in allowed:
        return True
    return host is not None and urlsplit(normalized).netloc == host.lower()
