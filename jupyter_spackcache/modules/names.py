"""Module names: ``name/version``, made unique the way Spack's projections suffixes do.

One build of a version is ``demo-tool/1.0.0``. When several installed builds share a name and a
version, each gets a suffix: its target when that alone tells them apart (``1.0.0-zen3`` and
``1.0.0-skylake``), else the first seven characters of its DAG hash, which Spack uses as the
default ``hash_length``. Names are recomputed over everything that has a module, so a second
build renames the first and uninstalling it gives the plain name back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..spec.concrete import ConcreteNode

#: Spack's default ``hash_length`` for module names
HASH_LENGTH = 7
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+=,@-]")


def module_names(nodes: Iterable[ConcreteNode]) -> dict[str, str]:
    """The module name of each node, keyed by DAG hash; unique within ``nodes``."""
    groups: dict[tuple[str, str], list[ConcreteNode]] = {}
    for node in nodes:
        groups.setdefault((node.name, node.version), []).append(node)
    out: dict[str, str] = {}
    for (name, version), group in groups.items():
        base = f"{_part(name)}/{_part(version)}"
        if len(group) == 1:
            out[group[0].hash] = base
            continue
        targets = [n.target for n in group]
        by_target = len(set(targets)) == len(targets)
        for node in group:
            suffix = _part(node.target) if by_target else node.hash[:HASH_LENGTH]
            out[node.hash] = f"{base}-{suffix}"
    return out


def _part(text: str) -> str:
    """One path component: no ``/``, spaces or shell-special characters."""
    return _UNSAFE.sub("_", text) or "_"
