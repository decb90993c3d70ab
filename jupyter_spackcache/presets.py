"""Mirrors a new user is offered in one click: the site's presets (``mirror_presets:``).

A user with no mirror at all cannot search anything, and typing a build cache URL they have
never seen is not a first step. So the site file lists a few mirrors worth offering; the panel
shows each as a button. By default that is Spack's public rolling build cache, which is signed
and publishes its own key, so adding it leads to the usual key review. ``mirror_presets: []``
offers none. A preset is only an offer: adding one is an ordinary user mirror add, checked by
the site policy like any other (the panel does not offer what the policy refuses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: name of the mirror ``spackcache demo`` and the panel's "Add the demo mirror" configure
DEMO_MIRROR_NAME = "demo"


@dataclass(frozen=True, slots=True)
class MirrorPreset:
    """A mirror the site offers: its configuration, and the words the panel shows for it."""

    name: str
    url: str
    title: str
    description: str = ""
    unsigned: bool = False
    s3_endpoint: str | None = None
    view: str | None = None

    def mirror_mapping(self) -> dict[str, Any]:
        """The mirror entry adding this preset writes (as a user file's ``mirrors:`` item)."""
        out: dict[str, Any] = {"name": self.name, "url": self.url, "unsigned": self.unsigned}
        if self.s3_endpoint:
            out["s3_endpoint"] = self.s3_endpoint
        if self.view:
            out["view"] = self.view
        return out


#: offered when no site file sets ``mirror_presets``
SPACK_PUBLIC = MirrorPreset(
    name="spack-public",
    url="https://binaries.spack.io/develop",
    title="Spack's public build cache",
    description=(
        "Binaries Spack's CI builds from the develop branch, signed with Spack's key "
        "(review it when you add the mirror)."
    ),
)
DEFAULT_PRESETS: tuple[MirrorPreset, ...] = (SPACK_PUBLIC,)


def preset_from_mapping(
    raw: Mapping[str, Any], normalize: Callable[[str], str] | None = None
) -> MirrorPreset:
    """A checked ``mirror_presets:`` entry (configschema.py) as a value; ``normalize`` turns the
    URL into the form a configured mirror has, so "already added" is a plain comparison."""
    url = str(raw["url"])
    return MirrorPreset(
        name=str(raw["name"]),
        url=normalize(url) if normalize is not None else url,
        title=str(raw.get("title") or raw["name"]),
        description=str(raw.get("description") or ""),
        unsigned=bool(raw.get("unsigned", False)),
        s3_endpoint=raw.get("s3_endpoint"),
        view=raw.get("view"),
    )
