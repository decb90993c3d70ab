"""Abstract specs: what a user asks for (``hdf5@1.14 +mpi ^openmpi``), as a value.

An :class:`AbstractSpec` is the parsed form of one root spec: constraints on the root node,
constraints that must hold for *some* node of the DAG (``^dep``), and constraints on direct
dependencies (``%dep``, in Spack 1.x usually a compiler). It is immutable and hashable, and
``str()`` gives canonical Spack text that :func:`~.parser.parse_spec` reads back to an equal
value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jupyter_spackcache.spec.concrete import VariantValue
from jupyter_spackcache.spec.version import VersionConstraint

#: keys Spack treats as compiler flags rather than variants (space-separated flag lists)
FLAG_NAMES = frozenset({"cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs"})

_PLAIN_VALUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,/_.-[]")


def quote_if_needed(value: str) -> str:
    """Quote a variant value the way Spack prints it, so it parses back unchanged."""
    if value and set(value) <= _PLAIN_VALUE:
        return value
    return f'"{value}"' if "'" in value else f"'{value}'"


def _value_text(value: VariantValue) -> str:
    if isinstance(value, tuple):
        return quote_if_needed(",".join(value))
    return quote_if_needed(str(value))


@dataclass(frozen=True, slots=True, repr=False)
class AbstractSpec:
    """One (possibly anonymous) abstract spec node plus its dependency constraints."""

    #: package name; None for anonymous specs such as ``+mpi`` or ``/abc12``
    name: str | None = None
    versions: VersionConstraint = field(default_factory=VersionConstraint.any)
    #: variants and compiler flags sorted by name: bool, a string, or a tuple of strings
    variants: tuple[tuple[str, VariantValue], ...] = ()
    namespace: str | None = None
    platform: str | None = None
    os: str | None = None
    #: a target name, or Spack's range/list text such as ``x86_64_v3:``
    target: str | None = None
    #: ``/abc12``: a prefix of the DAG hash
    hash_prefix: str | None = None
    #: ``^dep``: each must match some node reachable from the root
    dependencies: tuple[AbstractSpec, ...] = ()
    #: ``%dep``: each must match a direct dependency (a compiler, in practice)
    direct: tuple[AbstractSpec, ...] = ()
    #: edge constraints when this spec is a dependency: ``%c,cxx=gcc``, ``^[virtuals=mpi] x``
    virtuals: tuple[str, ...] = ()
    #: ``^[deptypes=build,link] x``: the edge must carry one of these dependency types
    deptypes: tuple[str, ...] = ()

    @property
    def variant_map(self) -> dict[str, VariantValue]:
        return dict(self.variants)

    def __repr__(self) -> str:
        return f"AbstractSpec({str(self)!r})"

    @property
    def is_anonymous(self) -> bool:
        return self.name is None

    @property
    def fullname(self) -> str:
        """``namespace.name`` when a namespace was given, else the name (or ``""``)."""
        name = self.name or ""
        return f"{self.namespace}.{name}" if self.namespace else name

    def node_str(self) -> str:
        """This node's own constraints, without ``%`` and ``^`` parts."""
        out = [self.fullname if self.name else ""]
        if not self.versions.is_any:
            out.append(f"@{self.versions}")
        bools = [(k, v) for k, v in self.variants if isinstance(v, bool)]
        others = [(k, v) for k, v in self.variants if not isinstance(v, bool)]
        out.extend(("+" if v else "~") + k for k, v in bools)
        text = "".join(out)
        words = [text] if text else []
        words.extend(f"{k}={_value_text(v)}" for k, v in others)
        if self.platform and self.os and self.target:
            words.append(f"arch={self.platform}-{self.os}-{self.target}")
        else:
            for key in ("platform", "os", "target"):
                value = getattr(self, key)
                if value:
                    words.append(f"{key}={value}")
        result = " ".join(words)
        if self.hash_prefix:
            result += f"/{self.hash_prefix}"
        return result

    def as_edge(self, sigil: str) -> str:
        """This spec as written after ``^`` or ``%``, with its edge attributes."""
        if self.deptypes or (self.virtuals and not self.name):
            props = [f"deptypes={','.join(self.deptypes)}"] if self.deptypes else []
            if self.virtuals:
                props.append(f"virtuals={','.join(self.virtuals)}")
            return f"{sigil}[{' '.join(props)}] {self._with_direct()}"
        if self.virtuals:
            return f"{sigil}{','.join(self.virtuals)}={self._with_direct()}"
        return f"{sigil}{self._with_direct()}"

    def _with_direct(self) -> str:
        parts = [self.node_str()]
        parts.extend(d.as_edge("%") for d in self.direct)
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        parts = [self._with_direct()]
        parts.extend(d.as_edge("^") for d in self.dependencies)
        for dep in self.dependencies:
            # ``^`` always attaches to the root when parsed, so print nested ones flat
            parts.extend(d.as_edge("^") for d in dep.dependencies)
        return " ".join(p for p in parts if p)
