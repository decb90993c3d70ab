"""What a modulefile says, as one value, and how it is derived from the installed records.

A module makes the same changes as ``spackcache load`` (the directories come from
:func:`jupyter_spackcache.env.environment_for`, one source of truth), split so that unloading is
clean: a dependency that has its own module is loaded through ``depends_on``; one that has none
(a dependency of a root, when only roots get modules) has its directories folded into the
module of the package that needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..env import environment_for, root_variable
from ..store.db import InstalledRecord


@dataclass(frozen=True, slots=True)
class ModuleFile:
    """Everything a renderer needs, and nothing it must look up."""

    #: the name users type, ``name/version[-suffix]``
    name: str
    package: str
    version: str
    target: str
    hash: str
    #: variants as Spack prints them (``+shared ~debug build_type=Release``)
    variants: str
    mirror: str | None
    prefix: str
    #: variable -> directories to put in front of it, the first one foremost
    prepend: tuple[tuple[str, tuple[str, ...]], ...]
    #: variable -> value (the package's ``<NAME>_ROOT``)
    setenv: tuple[tuple[str, str], ...]
    #: modules this one loads first (its runtime dependencies that have modules)
    depends_on: tuple[str, ...]

    @property
    def short_spec(self) -> str:
        return f"{self.package}@{self.version}/{self.hash[:7]}"

    @property
    def description(self) -> str:
        """One line for ``whatis`` (shown by ``module spider``, ``module whatis``)."""
        source = f"from mirror '{self.mirror}'" if self.mirror else "from a Spack build cache"
        return f"{self.package} {self.version} for {self.target}, installed {source}"

    @property
    def help_lines(self) -> tuple[str, ...]:
        return (
            f"Name    : {self.package}",
            f"Version : {self.version}",
            f"Target  : {self.target}",
            f"Variants: {self.variants or '(none)'}",
            f"Hash    : {self.hash}",
            f"Mirror  : {self.mirror or '(unknown)'}",
            f"Prefix  : {self.prefix}",
        )


def module_files(
    records: Sequence[InstalledRecord],
    names: Mapping[str, str],
    lookup: Callable[[str], InstalledRecord | None],
) -> list[ModuleFile]:
    """The modulefile of each record that ``names`` names.

    ``lookup`` finds an installed dependency by hash (None: not in this store — an external or
    an upstream's, which the environment leaves to the system as ``spackcache load`` does).
    """
    return [_module_file(r, names, lookup) for r in records if r.hash in names]


def _module_file(
    record: InstalledRecord,
    names: Mapping[str, str],
    lookup: Callable[[str], InstalledRecord | None],
) -> ModuleFile:
    prefixes = [Path(record.prefix)]
    depends: list[str] = []
    seen = {record.hash}
    queue = [record]
    while queue:  # breadth first, as env.closure orders a load
        current = queue.pop(0)
        for edge in current.node.runtime_edges():
            if edge.hash in seen:
                continue
            seen.add(edge.hash)
            if edge.hash in names:
                depends.append(names[edge.hash])
                continue
            dep = lookup(edge.hash)
            if dep is not None:
                prefixes.append(Path(dep.prefix))
                queue.append(dep)
    changes = environment_for(prefixes)
    return ModuleFile(
        name=names[record.hash],
        package=record.name,
        version=record.version,
        target=record.node.target,
        hash=record.hash,
        variants=" ".join(record.node.variant_words()),
        mirror=record.mirror,
        prefix=record.prefix,
        prepend=tuple((name, change.prepend) for name, change in changes.items()),
        setenv=((root_variable(record.name), record.prefix),),
        depends_on=tuple(depends),
    )
