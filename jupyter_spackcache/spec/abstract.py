"""Abstract specs: what a user asks for (``hdf5@1.14 +mpi ^openmpi``), as a value.

An :class:`AbstractSpec` is the parsed form of one root spec: constraints on the root node,
constraints that must hold for *some* node of the DAG (``^dep``), and constraints on direct
dependencies (``%dep``, in Spack 1.x usually a compiler). It is immutable and hashable, and
``str()`` gives Spack's canonical text (flags, then boolean variants, then key=value
variants, each sorted; dependencies sorted by name), which :func:`~.parser.parse_spec` reads
back to an equal value. Equal specs print the same, so the text is also a cache key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jupyter_spackcache.spec.concrete import DEPTYPES, VariantValue
from jupyter_spackcache.spec.version import VersionConstraint

#: keys Spack treats as compiler flags rather than variants (space-separated flag lists)
FLAG_NAMES = frozenset({"cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs"})

#: the value of ``name=*``: the variant must exist, with any value
ANY_VALUE = "*"

#: Spack's unquoted set, less ``[]``: Spack prints ``x=[a]`` bare but cannot read it back
_PLAIN_VALUE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,/_.-")


def quote_if_needed(value: str) -> str:
    """Quote a variant value the way Spack prints it, so it parses back unchanged."""
    if value and set(value) <= _PLAIN_VALUE:
        return value
    if "'" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def value_text(value: VariantValue) -> str:
    """A variant value as Spack writes it after ``=``: items joined by commas."""
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


#: Spack 1.x renamed compiler packages; ``%clang`` still means the ``llvm`` package
LEGACY_COMPILER_NAMES = {
    "clang": "llvm",
    "oneapi": "intel-oneapi-compilers",
    "rocmcc": "llvm-amdgpu",
    "intel": "intel-oneapi-compiler-classic",
    "arm": "acfl",
}


def _edge_key(spec: AbstractSpec) -> tuple[str, str]:
    name = spec.name or ""
    return LEGACY_COMPILER_NAMES.get(name, name), "" if spec.when is None else str(spec.when)


def sort_edges(specs: list[AbstractSpec]) -> tuple[AbstractSpec, ...]:
    """Dependencies in Spack's print order: by package name (``%clang`` sorts as ``llvm``),
    then by condition; edges that differ only in dependency types stay in the order given."""
    return tuple(sorted(specs, key=_edge_key))


@dataclass(frozen=True, slots=True, repr=False)
class AbstractSpec:
    """One (possibly anonymous) abstract spec node plus its dependency constraints."""

    #: package name; None for anonymous specs such as ``+mpi`` or ``/abc12``
    name: str | None = None
    versions: VersionConstraint = field(default_factory=VersionConstraint.any)
    #: variants and compiler flags sorted by name: bool, a string, or a sorted tuple of
    #: strings; :data:`ANY_VALUE` for ``name=*``; flags are one space-separated string
    variants: tuple[tuple[str, VariantValue], ...] = ()
    namespace: str | None = None
    platform: str | None = None
    os: str | None = None
    #: a target name, ``*``, or Spack's range/list text such as ``x86_64_v3:``
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
    #: names of variants and flags written to propagate (``++x``, ``~~x``, ``x==v``)
    propagated: frozenset[str] = frozenset()
    #: multi-valued variants written ``x:=a,b``: exactly these values, no others
    exact: frozenset[str] = frozenset()
    #: ``^[when='%c'] x``: the edge is required only where this condition holds
    when: AbstractSpec | None = None
    #: ``%%gcc``: a direct dependency the user wants preferred for the whole DAG
    propagate_edge: bool = False

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
        return f"{self.namespace}.{name}" if self.namespace and name else name

    def _variant_words(self) -> tuple[list[str], str, list[str]]:
        """(flag words, glued boolean variants, key=value words), each sorted by name."""
        flags: list[str] = []
        bools: list[str] = []
        pairs: list[str] = []
        for key, value in self.variants:
            propagates = key in self.propagated
            if isinstance(value, bool):
                sign = "+" if value else "~"
                bools.append((sign * 2 if propagates else sign) + key)
                continue
            op = (
                ("==" if propagates else "=")
                if key not in self.exact
                else (":==" if propagates else ":=")
            )
            word = f"{key}{op}{quote_if_needed(value_text(value))}"
            (flags if key in FLAG_NAMES else pairs).append(word)
        return flags, "".join(bools), pairs

    def node_str(self) -> str:
        """This node's own constraints, without ``%`` and ``^`` parts."""
        head = self.fullname
        if not self.versions.is_any:
            head += f"@{self.versions}"
        flags, bools, pairs = self._variant_words()
        words = [head] if head else []
        if flags:
            words.extend(flags)
            if bools:
                words.append(bools)
        elif bools:
            words = [head + bools]
        words.extend(pairs)
        if self.namespace and not self.name:
            words.append(f"namespace={self.namespace}")
        for key in ("platform", "os", "target"):
            value = getattr(self, key)
            if value:
                words.append(f"{key}={value}")
        result = " ".join(words)
        if self.hash_prefix:
            # after a key=value or a git ref the slash would read as part of them
            last = result.rpartition(" ")[2]
            glue = " " if "=" in last or "@git." in last else ""
            result += f"{glue}/{self.hash_prefix}"
        return result

    def _needs_star(self, text: str) -> bool:
        """Whether an anonymous dependency must be written ``*``, as Spack does, so that
        ``^*foo=bar`` (a variant) does not read as ``^foo=bar`` (a virtual assignment)."""
        if self.name:
            return False
        if text.startswith("@"):
            return False
        flags_or_pairs = any(not isinstance(v, bool) for _, v in self.variants)
        has_bool = any(isinstance(v, bool) for _, v in self.variants)
        has_arch = bool(self.platform or self.os or self.target or self.namespace)
        return flags_or_pairs or not has_bool or has_arch

    def edge_attributes(self) -> str:
        """The ``[when=... deptypes=...]`` part of this spec as a dependency (or ``""``)."""
        attrs = []
        if self.when is not None:
            attrs.append(f"when={quote_if_needed(str(self.when) or '*')}")
        if self.deptypes:
            attrs.append(f"deptypes={','.join(d for d in DEPTYPES if d in self.deptypes)}")
        if self.virtuals and not self.name:
            # ``%c=*@4`` does not read back: name the virtuals inside the brackets instead
            attrs.append(f"virtuals={','.join(self.virtuals)}")
        return f"[{' '.join(attrs)}] " if attrs else ""

    def as_edge(self, sigil: str) -> str:
        """This spec as written after ``^`` or ``%``, with its edge attributes."""
        if self.propagate_edge and sigil == "%":
            sigil = "%%"
        body = self._with_direct()
        star = "*" if self._needs_star(body) else ""
        virtuals = f"{','.join(self.virtuals)}=" if self.virtuals and self.name else ""
        return f"{sigil}{self.edge_attributes()}{virtuals}{star}{body}"

    def _with_direct(self) -> str:
        parts = [self.node_str()]
        parts.extend(d.as_edge("%") for d in self.direct)
        return " ".join(p for p in parts if p)

    def __str__(self) -> str:
        parts = [self._with_direct()]
        for dep in self.dependencies:
            parts.append(dep.as_edge("^"))
            # ``^`` always attaches to the root when parsed, so print nested ones flat
            parts.extend(d.as_edge("^") for d in dep.dependencies)
        return " ".join(p for p in parts if p)
