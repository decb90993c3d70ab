"""Network settings as values: the retry policy, and where a mirror's credentials are.

The configuration builds these; the transports in :mod:`jupyter_spackcache.mirrors` use them.
Kept apart from both so that neither depends on the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. ``attempts`` counts the first try; ``deadline`` bounds one install."""

    attempts: int = 5
    #: first back-off in seconds, doubled per attempt up to ``cap``
    base: float = 0.25
    cap: float = 8.0
    #: a server's ``Retry-After`` is honoured up to this many seconds
    retry_after_cap: float = 30.0
    #: seconds allowed to connect, and between two reads of one response
    timeout: float = 30.0
    #: seconds one operation (an install, a refresh) may spend on the network in all
    deadline: float = 3600.0
    #: bytes a body must bring per ``timeout`` seconds: a server trickling a byte a second
    #: never trips a read timeout, yet would hold an install for hours
    min_bytes: int = 1024


#: each secret may be given inline, by environment variable or by file
_SECRETS = ("password", "token")
_KEYS = ("username", *(f"{s}{k}" for s in _SECRETS for k in ("", "_env", "_file")))


@dataclass(frozen=True, slots=True)
class AuthSpec:
    """Where a mirror's credentials are: basic (``username`` + a password) or bearer."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    password_env: str | None = None
    password_file: str | None = None
    token: str | None = field(default=None, repr=False)
    token_env: str | None = None
    token_file: str | None = None

    def to_yaml(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if (v := getattr(self, f.name)) is not None}


def parse_auth(raw: Any, where: str) -> AuthSpec:
    """The ``auth`` mapping of a mirror in config file ``where``; refuses what cannot work."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"'auth' of a mirror in {where} must be a mapping")
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown setting 'auth.{unknown[0]}' of a mirror in {where}",
            hint=f"auth knows: {', '.join(_KEYS)}",
        )
    spec = AuthSpec(**{k: str(v) for k, v in raw.items()})
    given = {s: [k for k in _KEYS if k.startswith(s) and getattr(spec, k)] for s in _SECRETS}
    basic = bool(spec.username) and len(given["password"]) == 1 and not given["token"]
    bearer = not spec.username and not given["password"] and len(given["token"]) == 1
    if not (basic or bearer):
        raise ConfigError(
            f"'auth' of a mirror in {where} needs a username with one of password, "
            "password_env, password_file; or one of token, token_env, token_file",
        )
    return spec


def redact_url(url: str) -> str:
    """``url`` as it may be shown: a password written into it (``https://u:p@host``) hidden."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}{slash}{path}"
