"""Why a search found nothing this host can install, in the terms a user can act on.

"Nothing matches" leaves a user guessing between a typo, a package no mirror has, builds for
another CPU and a version that does not exist. Each of those needs a different next step (fix
the name, add a mirror, pick another version), so the reason is worked out from what the
mirrors do hold. Pure: the caller hands in the names, the builds for any target and the
resolver's verdict.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .ops.query import Listing
from .resolve import Resolution
from .spec.abstract import AbstractSpec

Kind = Literal["no-mirror", "no-package", "other-targets", "other-versions", "no-match"]

#: builds for other targets listed with their reason, at most
MAX_UNRUNNABLE = 20


@dataclass(frozen=True, slots=True)
class NoMatch:
    kind: Kind
    message: str
    host_target: str
    #: closest package names (a likely typo)
    suggestions: tuple[str, ...] = ()
    #: targets the matching builds were made for (none of which runs here)
    targets: tuple[str, ...] = ()
    #: versions of the package the mirrors hold, newest first
    versions: tuple[str, ...] = ()
    #: matching builds that cannot run here, each with its reason
    unrunnable: tuple[Listing, ...] = ()


def close_names(name: str, names: Sequence[str], n: int = 3) -> tuple[str, ...]:
    """Names a user may have meant: similar overall, or similar in their first letters
    (``dmeo`` is a slip for ``demo-tool``)."""
    scored = []
    for candidate in names:
        whole = difflib.SequenceMatcher(None, name, candidate).ratio()
        head = difflib.SequenceMatcher(None, name, candidate[: len(name)]).ratio()
        score = max(whole, head)
        if score >= 0.6 and candidate != name:
            scored.append((-score, candidate))
    return tuple(c for _, c in sorted(scored)[:n])


def explain_no_match(
    request: AbstractSpec | None,
    *,
    mirrors: int,
    host_target: str,
    names: Sequence[str],
    any_target: Sequence[Listing],
    resolution: Resolution | None,
) -> NoMatch:
    """The reason for an empty result.

    ``any_target``: the builds matching the query for every target (the runnable ones being
    absent, these are the ones that cannot run here); ``resolution``: the resolver's verdict on
    the query (None when it names no package).
    """
    if mirrors == 0:
        return NoMatch("no-mirror", "no mirror is configured yet", host_target)
    unrunnable = tuple(item for item in any_target if not item.compatible)
    if unrunnable:
        targets = tuple(sorted({item.node.target for item in unrunnable}))
        return NoMatch(
            "other-targets",
            f"only builds for {', '.join(targets)}, which do not run on this host ({host_target})",
            host_target,
            targets=targets,
            unrunnable=unrunnable[:MAX_UNRUNNABLE],
        )
    name = request.name if request is not None else None
    if name is None:
        return NoMatch("no-match", "no build in the mirrors matches", host_target)
    if resolution is None or resolution.considered == 0:
        suggestions = close_names(name, names)
        if any(name in n for n in names):
            return NoMatch(
                "no-match", f"no build matches '{request}'", host_target, suggestions=suggestions
            )
        return NoMatch(
            "no-package",
            f"no package named '{name}' in any configured mirror",
            host_target,
            suggestions=suggestions,
        )
    versions = resolution.available_versions
    assert request is not None
    if not request.versions.is_any and not any(request.versions.contains(v) for v in versions):
        return NoMatch(
            "other-versions",
            f"no version of {name} matches @{request.versions}; "
            f"the mirrors have {', '.join(versions[:8])}",
            host_target,
            versions=versions,
        )
    return NoMatch("no-match", resolution.explain(), host_target, versions=versions)
