"""Credentials for private mirrors: a per-mirror ``auth`` setting, else ``~/.netrc``.

The setting names *where* a secret is rather than holding it, when the site prefers::

    auth: {username: alice, password_env: CACHE_PASSWORD}     # HTTP basic, OCI basic/token
    auth: {token_file: /etc/spackcache/cache.token}           # HTTP bearer

Secrets never show: :class:`AuthSpec` hides them from ``repr``, front doors only say whether
a mirror has credentials, and they are read (from the environment or a file) only when a
transport is opened. httpx drops the ``Authorization`` header when a redirect leaves the
mirror's origin (a cache behind a CDN), so credentials stay with the host they were given for.
"""

from __future__ import annotations

import netrc
import os
import urllib.parse
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import httpx

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


@dataclass(frozen=True, slots=True)
class Credentials:
    """Resolved credentials (hidden from ``repr``): basic when ``username`` is set."""

    username: str | None = None
    secret: str = field(default="", repr=False)

    @property
    def header(self) -> str:
        """The ``Authorization`` header value."""
        if self.username is None:
            return f"Bearer {self.secret}"
        import base64

        pair = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


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


def _read(spec: AuthSpec, name: str, mirror: str) -> str:
    inline, env, file = (getattr(spec, name + s) for s in ("", "_env", "_file"))
    if inline is not None:
        return str(inline)
    if env is not None:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(
                f"mirror '{mirror}' takes its {name} from ${env}, which is not set",
                hint=f"export {env}=... before running, or change the mirror's auth setting",
            )
        return value
    try:
        return Path(os.path.expanduser(str(file))).read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"mirror '{mirror}' takes its {name} from {file}: {exc.strerror or exc}"
        ) from None


def resolve(spec: AuthSpec | None, url: str, mirror: str) -> Credentials | None:
    """The credentials to send to ``url``: the mirror's setting, else ``~/.netrc`` (or
    ``$NETRC``) for its host, else None (anonymous)."""
    if spec is not None:
        if spec.username:
            return Credentials(spec.username, _read(spec, "password", mirror))
        return Credentials(None, _read(spec, "token", mirror))
    return from_netrc(url)


def from_netrc(url: str) -> Credentials | None:
    """Basic credentials for ``url``'s host from the user's netrc file, if it names it."""
    host = urllib.parse.urlsplit(url.replace("oci+http://", "http://", 1)).hostname
    path = Path(os.environ.get("NETRC") or Path.home() / ".netrc")
    if not host or not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (OSError, netrc.NetrcParseError):
        return None
    if entry is None or not entry[0]:
        return None
    return Credentials(entry[0], entry[2] or "")


def httpx_auth(credentials: Credentials | None) -> httpx.Auth | None:
    """An httpx auth for a client that talks to one mirror."""
    if credentials is None:
        return None
    import httpx

    header = credentials.header

    class _Header(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, Any, None]:
            request.headers["Authorization"] = header
            yield request

    return _Header()
