"""Redirects never lead where the site forbids: link-local and metadata addresses, denied hosts.

A mirror the user (or a compromised server) controls can answer ``302 Location:
http://169.254.169.254/...``; the HTTP clients follow redirects, so each hop is checked here,
by a response hook installed on every client that reads mirrors (index and spec fetches, OCI,
tarball downloads). The rule comes from :meth:`Policy.redirect_refusal`; the session installs
it for its process (``install_guard``) — one policy per process, as one user per process.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ..errors import PolicyError

_guard: Callable[[str], str | None] | None = None


def install_guard(guard: Callable[[str], str | None] | None) -> None:
    """Use ``guard(url) -> reason or None`` for every redirect from now on in this process."""
    global _guard
    _guard = guard


def _check(response: httpx.Response) -> None:
    if _guard is None or not response.has_redirect_location:
        return
    target = response.request.url.join(response.headers["location"])
    refusal = _guard(str(target))
    if refusal is not None:
        raise PolicyError(
            f"{response.request.url} redirects to {target}: {refusal}",
            hint="the mirror points somewhere the site does not allow; tell its maintainers",
        )


async def _check_async(response: httpx.Response) -> None:
    _check(response)


def hooks() -> dict[str, list[Callable[[httpx.Response], Any]]]:
    """``event_hooks`` for a synchronous ``httpx.Client``."""
    return {"response": [_check]}


def async_hooks() -> dict[str, list[Callable[[httpx.Response], Any]]]:
    """``event_hooks`` for an ``httpx.AsyncClient``."""
    return {"response": [_check_async]}
