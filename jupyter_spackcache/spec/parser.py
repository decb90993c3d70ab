"""Parse Spack spec syntax (``gromacs@2023 +mpi ^openmpi``) into :class:`AbstractSpec` values.

:mod:`.scanner` cuts the text into tokens; this recursive-descent parser then follows Spack
1.x's grammar (``lib/spack/spack/spec_parser.py``) and its rules for what the tokens mean:

* ``name`` (``[A-Za-z0-9_][A-Za-z0-9_-]*``, optionally ``namespace.name``; ``*`` = anonymous)
* ``@versions`` -- ``@1.2``, ``@=1.2``, ``@1.2:1.4``, ``@1.2,1.4:``, ``@git.ref=1.2``
* ``+x`` / ``~x`` / ``-x`` and propagating ``++x``, ``~~x``, ``--x``
* ``key=value``, ``key=a,b``, ``key=*`` (any value), ``key:=a,b`` (exactly these values),
  ``key==value`` (propagating), quoted values; ``true``/``false`` are booleans; compiler
  flags (``cflags=...``) accumulate and ``''`` adds none
* ``arch=platform-os-target`` (``None`` leaves a part open, one word is a target),
  ``platform=``, ``os=``, ``target=``, ``namespace=`` -- reserved: never variants, never
  propagated, never given twice
* ``/hashprefix``
* ``^dep ...`` (somewhere in the DAG) and ``%dep ...`` / ``%%dep`` (direct dependency of the
  node before it), with ``^[virtuals=mpi deptypes=link when='+mpi'] dep`` or ``%c,cxx=gcc``

As in Spack 1.x, attributes written after ``%gcc@12`` belong to gcc (``zlib %gcc target=zen2``
constrains the compiler's target; write ``zlib target=zen2 %gcc`` for zlib's), and ``%``
after ``^dep`` binds to that dependency. A name after a complete spec starts the next root
spec, so ``zlib cmake@3.20`` is two specs. A dependency named twice with the same edge
attributes is one dependency with both sets of constraints (``x ^y@2 ^y+z`` is
``x ^y@2+z``); if they contradict, the spec is an error.

Every error is a :class:`SpecSyntaxError` with the 1-based column Spack's own error would
point at.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from jupyter_spackcache.errors import SpackCacheError, SpecSyntaxError
from jupyter_spackcache.spec.abstract import (
    ANY_VALUE,
    FLAG_NAMES,
    AbstractSpec,
    quote_if_needed,
    sort_edges,
)
from jupyter_spackcache.spec.algebra import constrain
from jupyter_spackcache.spec.concrete import VariantValue
from jupyter_spackcache.spec.scanner import ALNUM, NAME_CHARS, Kind, Scanner, Token, syntax_error
from jupyter_spackcache.spec.version import VersionConstraint

#: a target is a name, a range ``lo:hi`` or a list of them
_TARGET_CHARS = NAME_CHARS | frozenset(":,")
_ARCH_KEYS = {"platform": "platform", "os": "os", "operating_system": "os", "target": "target"}
#: names Spack reserves for spec attributes: never variants, and never propagated
RESERVED_NAMES = frozenset(
    {"arch", "architecture", "branch", "commit", "dev_path", "namespace", "operating_system"}
    | {"os", "patches", "platform", "ref", "tag", "target"}
)


@dataclass
class _Node:
    """Mutable node under construction; frozen into an :class:`AbstractSpec` at the end."""

    name: str | None = None
    namespace: str | None = None
    versions: VersionConstraint = field(default_factory=VersionConstraint.any)
    variants: dict[str, VariantValue] = field(default_factory=dict)
    propagated: set[str] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)
    arch: dict[str, str | None] = field(default_factory=dict)
    hash_prefix: str | None = None
    edge: Token | None = None
    when: AbstractSpec | None = None
    direct: list[_Node] = field(default_factory=list)
    dependencies: list[_Node] = field(default_factory=list)
    empty: bool = True

    def freeze(self, text: str) -> AbstractSpec:
        edge = self.edge
        if edge is None and not self.dependencies and not self.direct and not self.propagated:
            return AbstractSpec(
                name=self.name,
                versions=self.versions,
                variants=tuple(sorted(self.variants.items())),
                namespace=self.namespace,
                platform=self.arch.get("platform"),
                os=self.arch.get("os"),
                target=self.arch.get("target"),
                hash_prefix=self.hash_prefix,
                exact=frozenset(self.exact) if self.exact else _NO_NAMES,
            )
        return AbstractSpec(
            name=self.name,
            versions=self.versions,
            variants=tuple(sorted(self.variants.items())),
            namespace=self.namespace,
            platform=self.arch.get("platform"),
            os=self.arch.get("os"),
            target=self.arch.get("target"),
            hash_prefix=self.hash_prefix,
            dependencies=_merged(self.dependencies, text),
            direct=_merged(self.direct, text),
            virtuals=tuple(sorted(set(edge.virtuals))) if edge else (),
            deptypes=edge.deptypes if edge else (),
            propagated=frozenset(self.propagated) if self.propagated else _NO_NAMES,
            exact=frozenset(self.exact) if self.exact else _NO_NAMES,
            when=self.when,
            propagate_edge=edge is not None and edge.key == "%%",
        )


_NO_NAMES: frozenset[str] = frozenset()


def _compatible_deptypes(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Spack allows two edges to one name only as build-only plus link/run."""
    if set(a) & set(b):
        return False
    link_run = {"link", "run"}
    return not (link_run & set(a) and link_run & set(b))


def _merged(nodes: list[_Node], text: str) -> tuple[AbstractSpec, ...]:
    """Freeze dependencies, folding a name given twice with the same edge into one."""
    if not nodes:
        return ()
    out: list[AbstractSpec] = []
    for node in nodes:
        spec = node.freeze(text)
        assert node.edge is not None
        if spec.name is None:
            out.append(spec)
            continue
        same = [i for i, o in enumerate(out) if o.name == spec.name]
        for i in same:
            old = out[i]
            if old.deptypes == spec.deptypes and old.when == spec.when:
                try:
                    out[i] = constrain(old, spec)
                except SpackCacheError as exc:
                    raise syntax_error(
                        f"cannot depend on incompatible specs: {exc.args[0]}", text, node.edge.start
                    ) from exc
                break
        else:
            if any(
                not _compatible_deptypes(out[i].deptypes, spec.deptypes)
                and out[i].when == spec.when
                for i in same
            ):
                raise syntax_error(
                    f"'{spec.name}' is a duplicate dependency with conflicting dependency types",
                    text,
                    node.edge.start,
                )
            out.append(spec)
    return sort_edges(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = Scanner(text).tokens()
        self.i = 0

    def fail(self, message: str, token: Token) -> NoReturn:
        raise syntax_error(message, self.text, token.start)

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def spec(self) -> AbstractSpec:
        root = self.node()
        current = root
        while (tok := self.peek()) is not None and tok.kind is Kind.EDGE:
            self.i += 1
            dep = self.node()
            if dep.empty:
                self.fail(f"expected a package or constraint after '{tok.key}'", tok)
            dep.edge = tok
            if tok.when is not None:
                dep.when = self.condition(tok)
            if tok.key == "^":
                root.dependencies.append(dep)
                current = dep
            else:
                current.direct.append(dep)
        return root.freeze(self.text)

    def condition(self, tok: Token) -> AbstractSpec:
        """The spec in ``[when='...']``; an empty condition always holds."""
        assert tok.when is not None
        if not tok.when.strip():
            return AbstractSpec()
        try:
            return parse_spec(tok.when)
        except SpecSyntaxError as exc:
            self.fail(f"invalid 'when' condition '{tok.when}': {exc}", tok)

    def node(self) -> _Node:
        node = _Node()
        tok = self.peek()
        if tok is not None and tok.kind is Kind.NAME:
            self.i += 1
            node.empty = False
            if tok.text != "*":
                namespace, _, name = tok.text.rpartition(".")
                node.name, node.namespace = name, namespace or None
        has_version = False
        while (tok := self.peek()) is not None:
            if tok.kind is Kind.VERSION:
                if has_version:
                    self.fail("a spec can have only one version constraint", tok)
                assert tok.versions is not None
                node.versions = tok.versions
                has_version = True
            elif tok.kind is Kind.BOOL:
                self.add_variant(node, tok.key, bool(tok.value), tok)
            elif tok.kind is Kind.KEY_VALUE:
                self.key_value(node, tok)
            elif tok.kind is Kind.HASH:
                if node.hash_prefix is not None:
                    break  # a second hash starts the next spec, as in Spack
                node.hash_prefix = tok.text
            else:
                break
            node.empty = False
            self.i += 1
        return node

    def add_variant(self, node: _Node, key: str, value: VariantValue, tok: Token) -> None:
        if key in node.variants:
            self.fail(f"variant '{key}' is given twice", tok)
        if tok.propagate and key in RESERVED_NAMES:
            self.fail(f"Propagation with '==' is not supported for '{key}'", tok)
        node.variants[key] = value
        if tok.propagate:
            node.propagated.add(key)
        if tok.exact and not isinstance(value, bool) and value != ANY_VALUE:
            node.exact.add(key)

    def key_value(self, node: _Node, tok: Token) -> None:
        key, value = tok.key, tok.value
        assert isinstance(value, str)
        if tok.propagate and key in RESERVED_NAMES:
            self.fail(f"Propagation with '==' is not supported for '{key}'", tok)
        if key in ("arch", "architecture"):
            parts = value.split("-")
            triple = parts if len(parts) == 3 else [None, None, value]
            if all(node.arch.get(k) for k in ("platform", "os", "target")):
                self.fail("a spec cannot have two architectures", tok)
            for attr, part in zip(("platform", "os", "target"), triple, strict=True):
                if part and part != "None":
                    self.set_arch(node, attr, part, tok)
        elif key in _ARCH_KEYS:
            if all(node.arch.get(k) for k in ("platform", "os", "target")):
                self.fail("a spec cannot have two architectures", tok)
            self.set_arch(node, _ARCH_KEYS[key], value, tok)
        elif key == "namespace":
            if node.namespace is not None and node.namespace != value:
                self.fail(f"conflicting namespaces '{node.namespace}' and '{value}'", tok)
            if not value or not set(value) <= NAME_CHARS or "" in value.split("."):
                self.fail(f"invalid namespace '{value}'", tok)
            node.namespace = value
        elif key in FLAG_NAMES:
            self.add_flags(node, key, value, tok)
        else:
            if not value:
                self.fail(f"missing value for '{key}'", tok)
            self.add_variant(node, key, _variant_value(value, self, tok), tok)

    def add_flags(self, node: _Node, key: str, value: str, tok: Token) -> None:
        flags = " ".join(value.split())
        if not flags:
            return  # ``ldflags=''`` sets nothing, as in Spack
        if key in node.variants:
            if (key in node.propagated) != tok.propagate:
                self.fail(f"'{key}' is given both propagated and not", tok)
            flags = f"{node.variants[key]} {flags}"
        node.variants[key] = flags
        if tok.propagate:
            node.propagated.add(key)

    def set_arch(self, node: _Node, attr: str, value: str, tok: Token) -> None:
        if node.arch.get(attr):
            self.fail(f"cannot specify '{attr}' twice", tok)
        allowed = _TARGET_CHARS if attr == "target" else NAME_CHARS
        if not value or (value != ANY_VALUE and not set(value) <= allowed):
            self.fail(f"invalid {attr} '{value}'", tok)
        node.arch[attr] = value


def _variant_value(raw: str, parser: _Parser, tok: Token) -> VariantValue:
    """Spack's reading of a variant value: true/false are booleans, ``*`` any value, and a
    comma list a set (sorted, no repeats)."""
    upper = raw.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    if raw == ANY_VALUE:
        return raw
    parts = raw.split(",")
    if len(parts) == 1:
        return raw
    if not all(parts):
        parser.fail(f"empty item in value of '{tok.key}'", tok)
    unique = sorted(set(parts))
    return unique[0] if len(unique) == 1 else tuple(unique)


def _quote_pair(word: str) -> str:
    """``key=value`` with the value quoted if it needs it; other words unchanged."""
    eq = word.find("=")
    key = word[: eq - 1] if eq > 0 and word[eq - 1] == ":" else word[:eq]
    if eq <= 0 or not key or key[0] not in ALNUM or not set(key) <= NAME_CHARS:
        return word
    value_at = eq + 2 if word.startswith("=", eq + 1) else eq + 1
    return word[:value_at] + quote_if_needed(word[value_at:])


def join_argv(argv: Sequence[str]) -> str:
    """Command-line words as one spec text, joined the way ``spack`` joins them.

    The shell has already removed the user's quotes, so a word that is a whole
    ``key=value`` gets its value quoted back: ``cflags="-O2 -g"`` stays one flag list
    instead of becoming ``cflags=-O2`` and a variant ``~g``.
    """
    return " ".join(_quote_pair(word) for word in argv)


def parse_specs(text: str) -> list[AbstractSpec]:
    """Parse every root spec in ``text`` (``"zlib cmake@3.20"`` gives two)."""
    parser = _Parser(text)
    specs: list[AbstractSpec] = []
    while parser.peek() is not None:
        specs.append(parser.spec())
    return specs


def parse_spec(text: str) -> AbstractSpec:
    """Parse exactly one root spec; raises :class:`SpecSyntaxError` otherwise."""
    parser = _Parser(text)
    if parser.peek() is None:
        raise SpecSyntaxError("empty spec", hint="name a package, e.g. 'zlib@1.3'")
    spec = parser.spec()
    extra = parser.peek()
    if extra is not None:
        parser.fail(f"expected one spec, but another starts with '{extra.text}'", extra)
    return spec
