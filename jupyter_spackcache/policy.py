"""What the site lets users do with mirrors: one rule, asked by every front door.

The site layers (system files, a stricter ``$SPACKCACHE_SITE_CONFIG`` layer, the Jupyter
server's traitlets) each give a :class:`Policy`; they combine with :meth:`Policy.tightened`, so
a later layer can only forbid more. :meth:`Policy.refusal` says why a mirror that is not the
site's own may not be used, and :meth:`Policy.url_refusal` applies the same host and scheme
rules to a single URL, which is how redirects are checked.

This is a guard rail for the supported front doors, not a sandbox: a user can always run other
software with their own permissions.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol
from urllib.parse import urlsplit

#: mirror URL schemes this client reads (``oci+http`` is plain-HTTP OCI)
SCHEMES = ("file", "http", "https", "s3", "oci", "oci+http")

#: networks a user mirror may never point at unless the site allows it by name: link-local
#: (cloud metadata services live at 169.254.169.254 and fd00:ec2::254) and IPv6 unique-local
DEFAULT_DENIED_HOSTS = ("169.254.0.0/16", "fe80::/10", "fd00::/8")


class MirrorLike(Protocol):
    @property
    def url(self) -> str: ...

    @property
    def unsigned(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Policy:
    """Site permissions. Every default is the permissive one except the denied networks."""

    allow_user_mirrors: bool = True
    allow_unsigned: bool = True
    allow_file_mirrors: bool = True
    #: schemes a user mirror may use; None: every scheme in :data:`SCHEMES`
    allowed_schemes: tuple[str, ...] | None = None
    #: per site layer that restricts hosts, the names (``*`` globs) or networks allowed: a user
    #: mirror's host must match one rule of every list (no list: any host)
    allowed_hosts: tuple[tuple[str, ...], ...] = ()
    #: host names or networks never contacted for a user mirror, nor after a redirect
    denied_hosts: tuple[str, ...] = DEFAULT_DENIED_HOSTS

    def tightened(self, other: Policy) -> Policy:
        """Both layers at once: a permission holds only if both grant it."""
        return Policy(
            allow_user_mirrors=self.allow_user_mirrors and other.allow_user_mirrors,
            allow_unsigned=self.allow_unsigned and other.allow_unsigned,
            allow_file_mirrors=self.allow_file_mirrors and other.allow_file_mirrors,
            allowed_schemes=_intersect(self.allowed_schemes, other.allowed_schemes),
            allowed_hosts=tuple(dict.fromkeys((*self.allowed_hosts, *other.allowed_hosts))),
            denied_hosts=tuple(dict.fromkeys((*self.denied_hosts, *other.denied_hosts))),
        )

    def refusal(self, mirror: MirrorLike) -> str | None:
        """Why a user's mirror may not be used here, or None when it may."""
        if not self.allow_user_mirrors:
            return "this site does not allow user-defined mirrors"
        if mirror.unsigned and not self.allow_unsigned:
            return "this site does not allow unsigned mirrors"
        return self.url_refusal(mirror.url)

    def url_refusal(self, url: str) -> str | None:
        """Why ``url`` may not be contacted for a user's mirror (scheme, host), or None."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "file":
            return None if self.allow_file_mirrors else "this site does not allow file:// mirrors"
        allowed = SCHEMES if self.allowed_schemes is None else self.allowed_schemes
        if scheme not in allowed:
            return f"this site does not allow {scheme}:// mirrors"
        host = (parts.hostname or "").lower()
        if scheme == "s3":
            return None  # the bucket name is not a host; the endpoint is the site's setting
        if any(host_matches(host, rule) for rule in self.denied_hosts):
            return f"this site does not allow mirrors on {host}"
        for rules in self.allowed_hosts:
            if not any(host_matches(host, rule) for rule in rules):
                return f"this site does not allow mirrors on {host}"
        return None

    def redirect_refusal(self, url: str) -> str | None:
        """Why a redirect (from any mirror, the site's too) may not be followed to ``url``.

        Only the denied hosts apply: a site mirror may redirect to a CDN the allow list does
        not name, but no mirror may send this client to a metadata service.
        """
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            return f"redirects to {parts.scheme}:// are not followed"
        host = (parts.hostname or "").lower()
        if any(host_matches(host, rule) for rule in self.denied_hosts):
            return f"this site does not allow connections to {host}"
        return None


def host_matches(host: str, rule: str) -> bool:
    """``host`` (a name or an IP literal) against one rule: a network, an address or a glob."""
    rule = rule.strip().lower()
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if "/" in rule:
        try:
            network = ipaddress.ip_network(rule, strict=False)
        except ValueError:
            return False
        if address is None:
            return False
        mapped = getattr(address, "ipv4_mapped", None)
        return address in network or (mapped is not None and mapped in network)
    return fnmatchcase(host, rule)


def check_host_rule(rule: str) -> str | None:
    """Why ``rule`` is not a usable host rule, or None (used when validating the site file)."""
    if not rule.strip():
        return "is empty"
    if "/" in rule:
        try:
            ipaddress.ip_network(rule.strip(), strict=False)
        except ValueError as exc:
            return f"is not a network ({exc})"
    return None


def _intersect(
    first: tuple[str, ...] | None, second: Iterable[str] | None
) -> tuple[str, ...] | None:
    if first is None:
        return None if second is None else tuple(second)
    if second is None:
        return first
    wanted = set(second)
    return tuple(item for item in first if item in wanted)
