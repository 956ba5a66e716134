"""Bearer-token authentication of the write endpoints.

The token comes from a mounted Secret (``--token-file``) or ``SPYOPS_BACKEND_TOKEN``; it is
compared in constant time and never logged. Read endpoints and the dashboard need no token.
"""

from __future__ import annotations

import hmac
import os
from pathlib import Path

from fastapi import HTTPException, Request, status

TOKEN_ENV = "SPYOPS_BACKEND_TOKEN"  # noqa: S105 (the variable name, not a secret)
MIN_TOKEN_LENGTH = 16
CHALLENGE = 'Bearer realm="spyops-backend"'


class TokenConfigError(ValueError):
    """No usable write token was configured; the message says where it was looked for."""


def load_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise TokenConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise TokenConfigError(f"the token file {token_file} is not UTF-8 text") from exc
        source = f"token file {token_file}"
    else:
        token = env.get(TOKEN_ENV, "").strip()
        source = f"environment variable {TOKEN_ENV}"
        if not token:
            raise TokenConfigError(
                f"no write token: pass --token-file (a mounted Secret) or set {TOKEN_ENV}; "
                "the write endpoints never accept anonymous calls"
            )
    if len(token) < MIN_TOKEN_LENGTH:
        raise TokenConfigError(f"the token from {source} is shorter than {MIN_TOKEN_LENGTH} characters")
    if any(ch.isspace() for ch in token):
        raise TokenConfigError(f"the token from {source} contains whitespace")
    return token


class BearerAuth:
    """FastAPI dependency: 401 with ``WWW-Authenticate`` unless the request carries the token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise TokenConfigError("the write token must not be empty")
        self._token = token.encode()

    def check(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        scheme, _, presented = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(presented.strip().encode(), self._token)

    def __call__(self, request: Request) -> None:
        if not self.check(request.headers.get("authorization")):
            metrics = getattr(request.app.state, "metrics", None)
            if metrics is not None:
                metrics.auth_failures.inc()
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail="a valid bearer token is required to write",
                headers={"WWW-Authenticate": CHALLENGE},
            )
