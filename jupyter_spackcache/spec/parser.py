"""Parse Spack spec syntax (``gromacs@2023 +mpi ^openmpi``) into :class:`AbstractSpec` values.

A hand-written scanner turns the text into tokens in one left-to-right pass (no regular
expressions, so no backtracking blow-ups on hostile input); a small recursive-descent parser
then follows Spack 1.x's grammar (``lib/spack/spack/spec_parser.py``):

* ``name`` (``[A-Za-z0-9_][A-Za-z0-9_-]*``, optionally ``namespace.name``; ``*`` = anonymous)
* ``@versions`` -- ``@1.2``, ``@=1.2``, ``@1.2:1.4``, ``@1.2,1.4:``, ``@git.ref=1.2``
* ``+x`` / ``~x`` / ``-x`` and propagating ``++x``, ``~~x``, ``--x``
* ``key=value``, ``key=a,b``, ``key=*`` (any value), ``key:=a,b`` (exactly these values),
  ``key==value`` (propagating), quoted values; compiler flags (``cflags=...``) accumulate
* ``arch=platform-os-target``, ``platform=``, ``os=``, ``target=``, ``namespace=``
* ``/hashprefix``
* ``^dep ...`` (somewhere in the DAG) and ``%dep ...`` / ``%%dep`` (direct dependency of the
  node before it), with ``^[virtuals=mpi deptypes=link when='+mpi'] dep`` or ``%c,cxx=gcc``

As in Spack 1.x, attributes written after ``%gcc@12`` belong to gcc (``zlib %gcc target=zen2``
constrains the compiler's target; write ``zlib target=zen2 %gcc`` for zlib's), and ``%``
after ``^dep`` binds to that dependency. A name after a complete spec starts the next root
spec, so ``zlib cmake@3.20`` is two specs. A dependency named twice with the same edge
attributes is one dependency with both sets of constraints (``x ^y@2 ^y+z`` is
``x ^y@2+z``); if they contradict, the spec is an error.

Shell metacharacters are rejected outright; every error is a :class:`SpecSyntaxError` with
the 1-based column Spack's own error would point at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import NoReturn

from jupyter_spackcache.errors import SpackCacheError, SpecSyntaxError
from jupyter_spackcache.spec.abstract import ANY_VALUE, FLAG_NAMES, AbstractSpec, sort_edges
from jupyter_spackcache.spec.algebra import constrain
from jupyter_spackcache.spec.concrete import DEPTYPES, VariantValue
from jupyter_spackcache.spec.version import VersionConstraint, VersionError

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_NAME_CHARS = _ALNUM | frozenset("-.")
_VID_CHARS = _ALNUM | frozenset("-.")
_GIT_REF_CHARS = _ALNUM | frozenset("-./")
_HEX = frozenset("0123456789abcdefABCDEF")
_VIRTUAL_LIST_CHARS = _ALNUM | frozenset("-,")
_PLAIN_VERSION_CHARS = _VID_CHARS | frozenset(":")
#: after these a version may go on (a list, ``=``, a git ref), so the general path decides
_VERSION_CONTINUES = frozenset(",=")
_BARE_VALUE_CHARS = _ALNUM | frozenset("-+*.,:=%^~/")
_SHELL_META = frozenset("`$;|&<>()!{}\\\"'?#\n\r\0")
_SPACE = frozenset(" \t")
_ARCH_KEYS = {"platform": "platform", "os": "os", "operating_system": "os", "target": "target"}
#: names Spack reserves for spec attributes: never variants, and never propagated
RESERVED_NAMES = frozenset(
    {"arch", "architecture", "branch", "commit", "dev_path", "namespace", "operating_system"}
    | {"os", "patches", "platform", "ref", "tag", "target"}
)


class Kind(Enum):
    NAME = "name"
    VERSION = "version"
    BOOL = "bool variant"
    KEY_VALUE = "key=value"
    HASH = "hash"
    EDGE = "dependency sigil"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    #: 0-based offset of the token's first character
    start: int
    text: str
    #: KEY_VALUE: the key; BOOL: the variant name; EDGE: ``^``, ``%`` or ``%%``
    key: str = ""
    #: KEY_VALUE: the raw value, quotes removed; BOOL: True for ``+``
    value: str | bool = ""
    propagate: bool = False
    #: KEY_VALUE written ``:=``
    exact: bool = False
    virtuals: tuple[str, ...] = ()
    deptypes: tuple[str, ...] = ()
    when: AbstractSpec | None = None
    versions: VersionConstraint | None = None


@lru_cache(maxsize=8192)
def _versions(body: str) -> VersionConstraint:
    """Parsed ``@...`` text, cached: resolving over an index parses the same few often."""
    return VersionConstraint.parse(body)


def _error(message: str, text: str, pos: int, hint: str | None = None) -> SpecSyntaxError:
    return SpecSyntaxError(message, text=text, column=pos + 1, hint=hint)


class _Scanner:
    """Splits spec text into :class:`Token` objects, one pass, no regular expressions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)

    def fail(self, message: str, pos: int | None = None, hint: str | None = None) -> NoReturn:
        raise _error(message, self.text, self.pos if pos is None else pos, hint)

    def peek(self, offset: int = 0) -> str:
        i = self.pos + offset
        return self.text[i] if i < self.n else ""

    def skip_spaces(self) -> None:
        while self.pos < self.n and self.text[self.pos] in _SPACE:
            self.pos += 1

    def take(self, chars: frozenset[str]) -> str:
        start = self.pos
        while self.pos < self.n and self.text[self.pos] in chars:
            self.pos += 1
        return self.text[start : self.pos]

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            self.skip_spaces()
            if self.pos >= self.n:
                return out
            out.append(self.token())

    def token(self) -> Token:
        c = self.text[self.pos]
        if c in "^%":
            return self.edge()
        if c == "@":
            return self.version()
        if c in "+~-":
            return self.bool_variant()
        if c == "/":
            return self.hash_or_file()
        if c == "*":
            self.pos += 1
            return Token(Kind.NAME, self.pos - 1, "*")
        if c in _ALNUM:
            return self.word()
        if c == ".":
            self.reject_file()
        self.unexpected()

    def unexpected(self) -> NoReturn:
        c = self.text[self.pos]
        if c in _SHELL_META or not c.isprintable():
            shown = repr(c) if not c.isprintable() or c in "\"'\\" else f"'{c}'"
            self.fail(f"character {shown} is not allowed in a spec")
        self.fail(f"unexpected character '{c}'")

    # -- pieces --------------------------------------------------------------------------

    def name(self, what: str = "name") -> str:
        start = self.pos
        if self.peek() not in _ALNUM:
            shown = f"'{self.peek()}'" if self.peek() else "end of input"
            self.fail(f"expected a {what}, found {shown}")
        word = self.take(_NAME_CHARS)
        if word.endswith(".") or ".." in word:
            self.fail(f"invalid {what} '{word}'", start)
        return word

    def word(self) -> Token:
        start = self.pos
        word = self.name()
        op = ""
        if self.peek() == "=":
            op = "=="[: 2 if self.peek(1) == "=" else 1]
        elif self.peek() == ":" and self.peek(1) == "=":
            op = ":==" if self.peek(2) == "=" else ":="
        if not op:
            if self.peek() == "/" and self.text[self.pos :].split(" ", 1)[0].endswith(
                (".json", ".yaml")
            ):
                self.fail("spec files are not supported in spec text", start)
            return Token(Kind.NAME, start, word)
        if "." in word:
            self.fail(f"invalid variant name '{word}'", start)
        op_pos = self.pos
        self.pos += len(op)
        value = self.value(word, op_pos)
        return Token(
            Kind.KEY_VALUE,
            start,
            self.text[start : self.pos],
            key=word,
            value=value,
            propagate=op.endswith("=="),
            exact=op.startswith(":"),
        )

    def value(self, key: str, op_pos: int) -> str:
        quote = self.peek()
        if quote in ("'", '"'):
            end = self.text.find(quote, self.pos + 1)
            if end < 0:
                self.fail(f"unterminated quoted value for '{key}'")
            inner = self.text[self.pos + 1 : end]
            for i, ch in enumerate(inner):
                if (ch in _SHELL_META and ch not in "'\"") or not ch.isprintable():
                    self.fail(f"character {ch!r} is not allowed in a spec", self.pos + 1 + i)
            self.pos = end + 1
            return inner
        raw = self.take(_BARE_VALUE_CHARS)
        if not raw:
            # Spack reads ``key`` as a name and stops at the ``=`` it cannot place
            self.fail(f"missing value for '{key}'", op_pos)
        return raw

    def vid(self) -> str:
        """One version id; like Spack, it never ends in ``.`` or ``-`` before a non-word."""
        start = self.pos
        if self.peek() not in _ALNUM:
            return ""
        self.take(_VID_CHARS)
        while self.text[self.pos - 1] in ".-" and self.peek() not in _ALNUM:
            self.pos -= 1
        return self.text[start : self.pos]

    def version_item(self) -> str:
        """``=?vid``, ``vid:vid``, ``vid:``, ``:vid`` or ``:``; "" if none starts here."""
        start = self.pos
        if self.peek() == "=":
            self.pos += 1
            if not self.vid():
                self.pos = start
                return ""
            return self.text[start : self.pos]
        self.vid()
        if self.peek() != ":":
            return self.text[start : self.pos]
        self.pos += 1
        before_hi = self.pos
        if self.peek() == "=":
            self.pos += 1
        if self.vid():
            # ``@1.2:target=x``: a name followed by ``=`` starts a key=value, not a bound
            after = self.pos
            self.skip_spaces()
            followed_by_eq = self.peek() == "="
            self.pos = after
            if followed_by_eq:
                self.pos = before_hi
        else:
            self.pos = before_hi
        return self.text[start : self.pos]

    def version(self) -> Token:
        start = self.pos
        self.pos += 1
        self.skip_spaces()
        body = self.plain_version()
        if not body:
            body = self.git_version()
        if not body:
            items = []
            while True:
                item = self.version_item()
                if not item:
                    break
                items.append(item)
                save = self.pos
                self.skip_spaces()
                if self.peek() != ",":
                    self.pos = save
                    break
                self.pos += 1
                self.skip_spaces()
                if not self.peek() or self.peek() not in _ALNUM | frozenset("=:"):
                    self.pos = save
                    break
            body = ",".join(items)
        if not body:
            self.fail("expected a version after '@'", start)
        try:
            versions = _versions(body)
        except VersionError as exc:
            self.fail(str(exc), start)
        return Token(Kind.VERSION, start, body, versions=versions)

    def plain_version(self) -> str:
        """Fast path for the common ``1.2``, ``1.2:``, ``:1.4``, ``1.2:1.4`` (no lists, no
        git refs, no look-ahead needed); "" sends the caller down the general path."""
        start = self.pos
        run = self.take(_PLAIN_VERSION_CHARS)
        after = self.pos
        self.skip_spaces()
        nxt = self.peek()
        self.pos = after
        if (
            not run
            or nxt in _VERSION_CONTINUES
            or run[-1] in ".-"
            or run[0] in ".-"
            or run.count(":") > 1
            or run.startswith("git.")
            or (len(run) >= 40 and run[:40].strip("0123456789abcdefABCDEF") == "")
        ):
            self.pos = start
            return ""
        return run

    def git_version(self) -> str:
        """``git.<ref>`` or a 40-digit commit, optionally ``=<version>``; else ""."""
        start = self.pos
        if self.text.startswith("git.", self.pos):
            self.pos += 4
            if self.peek() not in _ALNUM:
                self.pos = start
                return ""
            self.take(_GIT_REF_CHARS)
        else:
            digits = self.take(_HEX)
            if len(digits) != 40 or self.peek() in _VID_CHARS:
                self.pos = start
                return ""
        if self.peek() == "=":
            self.pos += 1
            if not self.vid():
                self.fail("expected a version after '='")
        return self.text[start : self.pos]

    def bool_variant(self) -> Token:
        start = self.pos
        sign = self.text[self.pos]
        double = self.peek(1) == sign
        self.pos += 2 if double else 1
        self.skip_spaces()
        if self.peek() not in _ALNUM:
            self.pos = start
            self.unexpected()
        variant = self.name("variant name")
        if "." in variant:
            self.fail(f"invalid variant name '{variant}'", start)
        return Token(
            Kind.BOOL,
            start,
            self.text[start : self.pos],
            key=variant,
            value=sign == "+",
            propagate=double,
        )

    def reject_file(self) -> None:
        rest = self.text[self.pos :].split(" ", 1)[0]
        if rest.endswith((".json", ".yaml")):
            self.fail("spec files are not supported in spec text")

    def hash_or_file(self) -> Token:
        start = self.pos
        self.reject_file()
        self.pos += 1
        digest = self.take(_ALNUM)
        if not digest:
            self.fail("expected a hash after '/'", start)
        return Token(Kind.HASH, start, digest)

    def edge(self) -> Token:
        start = self.pos
        sigil = "%%" if self.text.startswith("%%", self.pos) else self.text[self.pos]
        self.pos += len(sigil)
        if self.peek() == "[":
            self.pos += 1
            virtuals, deptypes, when = self.edge_properties()
            return Token(
                Kind.EDGE, start, sigil, key=sigil, virtuals=virtuals, deptypes=deptypes, when=when
            )
        self.skip_spaces()
        virtuals = self.virtual_assignment()
        return Token(Kind.EDGE, start, sigil, key=sigil, virtuals=virtuals)

    def virtual_assignment(self) -> tuple[str, ...]:
        """``c,cxx=gcc`` right after a sigil: consume ``c,cxx=``, leave ``gcc``."""
        i = self.pos
        while i < self.n and self.text[i] in _VIRTUAL_LIST_CHARS:
            i += 1
        if i < self.n - 1 and self.text[i] == "=" and self.text[i + 1] in _ALNUM:
            names = tuple(self.text[self.pos : i].split(","))
            if all(names) and all(n[0] in _ALNUM for n in names):
                self.pos = i + 1
                return names
        return ()

    def edge_properties(self) -> tuple[tuple[str, ...], tuple[str, ...], AbstractSpec | None]:
        props: dict[str, str] = {}
        while True:
            self.skip_spaces()
            if self.peek() == "]":
                self.pos += 1
                break
            start = self.pos
            if not self.peek():
                self.fail("unterminated edge attributes, expected ']'")
            if self.peek() not in _ALNUM:
                self.fail("unexpected token in edge attributes")
            token = self.word()
            if token.kind is not Kind.KEY_VALUE:
                self.fail("unexpected token in edge attributes", start)
            if token.key not in ("virtuals", "deptypes", "when"):
                self.fail("the only edge attributes are deptypes, virtuals and when", start)
            assert isinstance(token.value, str)
            props[token.key] = token.value
        self.skip_spaces()
        virtuals = tuple(v for v in props.get("virtuals", "").split(",") if v)
        virtuals += self.virtual_assignment()
        deptypes: tuple[str, ...] = ()
        if "deptypes" in props:
            items = props["deptypes"].split(",")
            bad = [d for d in items if d not in DEPTYPES]
            if bad:
                self.fail(f"unknown dependency type '{bad[0]}'", start)
            deptypes = tuple(d for d in DEPTYPES if d in items)
        when = None
        if "when" in props:
            try:
                when = parse_spec(props["when"]) if props["when"].strip() else AbstractSpec()
            except SpecSyntaxError as exc:
                self.fail(f"invalid 'when' condition: {exc.args[0] if exc.args else exc}", start)
        return virtuals, deptypes, when


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
            virtuals=edge.virtuals if edge else (),
            deptypes=edge.deptypes if edge else (),
            propagated=frozenset(self.propagated) if self.propagated else _NO_NAMES,
            exact=frozenset(self.exact) if self.exact else _NO_NAMES,
            when=edge.when if edge else None,
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
                    raise _error(
                        f"cannot depend on incompatible specs: {exc.args[0]}", text, node.edge.start
                    ) from exc
                break
        else:
            if any(
                not _compatible_deptypes(out[i].deptypes, spec.deptypes)
                and out[i].when == spec.when
                for i in same
            ):
                raise _error(
                    f"'{spec.name}' is a duplicate dependency with conflicting dependency types",
                    text,
                    node.edge.start,
                )
            out.append(spec)
    return sort_edges(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Scanner(text).tokens()
        self.i = 0

    def fail(self, message: str, token: Token) -> NoReturn:
        raise _error(message, self.text, token.start)

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
            if tok.key == "^":
                root.dependencies.append(dep)
                current = dep
            else:
                current.direct.append(dep)
        return root.freeze(self.text)

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
            if not value or not set(value) <= _NAME_CHARS:
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
        if attr != "target" and value != ANY_VALUE and not set(value) <= _NAME_CHARS:
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
