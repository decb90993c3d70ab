"""Where installed prefixes live under an install root, Spack's default way.

Spack >= 1.0 projects a spec to ``{architecture.platform}-{architecture.target}/{name}-{version}-
{hash}`` (buildcache-format.md §6.7). Spack lower-cases the projection *template* and passes every
formatted path component through its "polite" filter (anything outside ``[A-Za-z0-9_+.-]``
becomes ``_``); doing the same keeps our stores adoptable by a real Spack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..spec.concrete import ConcreteNode

#: Spack's default install-tree projection (>= 1.0), with our field names
DEFAULT_PROJECTION = "{platform}-{target}/{name}-{version}-{hash}"
#: the directory inside each prefix holding Spack metadata (``spec.json``)
METADATA_DIR = ".spack"
_IMPOLITE = re.compile(r"[^A-Za-z0-9_+.-]")


def polite_component(text: str) -> str:
    """One path component made safe: no separators, no shell- or tool-confusing characters."""
    return _IMPOLITE.sub("_", text)


def projection(node: ConcreteNode) -> str:
    """``<platform>-<target>/<name>-<version>-<hash>``, relative to the install root."""
    fields = {
        "platform": node.platform,
        "target": node.target,
        "name": node.name,
        "version": node.version,
        "hash": node.hash,
    }
    template = DEFAULT_PROJECTION.lower()
    return "/".join(polite_component(part.format(**fields)) for part in template.split("/"))


@dataclass(frozen=True, slots=True)
class StoreLayout:
    """Paths of one install root. Private directories are made the first time they are asked for."""

    root: Path

    def prefix(self, node: ConcreteNode) -> Path:
        return self.root / projection(node)

    def spec_file(self, node: ConcreteNode) -> Path:
        """``<prefix>/.spack/spec.json``, the node's own spec file, as Spack keeps it."""
        return self.prefix(node) / METADATA_DIR / "spec.json"

    def staging(self) -> Path:
        """Temporary install directories; inside the root so the final rename never copies."""
        return _ensure(self.root / ".spackcache" / "staging")

    def locks(self) -> Path:
        return _ensure(self.root / ".spackcache" / "locks")

    def sbang(self) -> Path:
        return self.root / "bin" / "sbang"


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
