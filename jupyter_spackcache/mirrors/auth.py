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
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..netconfig import AuthSpec, parse_auth

__all__ = ["AuthSpec", "Credentials", "from_netrc", "httpx_auth", "parse_auth", "resolve"]

if TYPE_CHECKING:
    import httpx


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
