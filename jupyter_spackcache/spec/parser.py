"""Parse Spack spec syntax (``gromacs@2023 +mpi ^openmpi``) into :class:`AbstractSpec` values.

A hand-written scanner turns the text into tokens in one left-to-right pass (no regular
expressions, so no backtracking blow-ups on hostile input); a small recursive-descent parser
then follows Spack's grammar:

* ``name`` (``[A-Za-z0-9_][A-Za-z0-9_-]*``, optionally ``namespace.name``; ``*`` = anonymous)
* ``@versions`` -- ``@1.2``, ``@=1.2``, ``@1.2:1.4``, ``@1.2,1.4:``, ``@git.ref=1.2``
* ``+x`` / ``~x`` / ``-x`` (and propagating ``++x``, ``~~x``, ``--x``)
* ``key=value``, ``key=a,b``, ``key==value``, ``key:=value``, quoted values
* ``arch=platform-os-target``, ``platform=``, ``os=``, ``target=``
* ``/hashprefix``
* ``^dep ...`` (somewhere in the DAG) and ``%dep ...`` (direct dependency of the node before
  it), optionally ``^[virtuals=mpi deptypes=link] dep`` or ``%c,cxx=gcc``

As in Spack 1.x, attributes written after ``%gcc@12`` belong to gcc (``zlib %gcc target=zen2``
constrains the compiler's target; write ``zlib target=zen2 %gcc`` for zlib's), and ``%``
after ``^dep`` binds to that dependency. A name after a complete spec starts the next root
spec, so ``zlib cmake@3.20`` is two specs.

Shell metacharacters are rejected outright; every error is a :class:`SpecSyntaxError` with
the 1-based column of the offending character.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NoReturn

from jupyter_spackcache.errors import SpecSyntaxError
from jupyter_spackcache.spec.abstract import FLAG_NAMES, AbstractSpec
from jupyter_spackcache.spec.concrete import DEPTYPES, VariantValue
from jupyter_spackcache.spec.version import VersionConstraint, VersionError

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_NAME_CHARS = _ALNUM | frozenset("-.")
_VERSION_CHARS = _ALNUM | frozenset("-.=:,/")
_BARE_VALUE_CHARS = _ALNUM | frozenset("-+*.,:=%^~/")
_SHELL_META = frozenset("`$;|&<>()!{}\\\"'?#\n\r\0")
_SPACE = frozenset(" \t")


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
    #: KEY_VALUE: the key; BOOL: the variant name; EDGE: ``^`` or ``%``
    key: str = ""
    value: VariantValue = ""
    virtuals: tuple[str, ...] = ()
    deptypes: tuple[str, ...] = ()
    versions: VersionConstraint | None = None


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
        if word.endswith(".") or ".." in word or word.startswith("."):
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
        self.pos += len(op)
        value = self.value(word)
        return Token(Kind.KEY_VALUE, start, self.text[start : self.pos], key=word, value=value)

    def value(self, key: str) -> VariantValue:
        start = self.pos
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
            if self.pos < self.n and self.text[self.pos] not in _SPACE:
                self.fail("expected a space after the quoted value")
            raw = inner
        else:
            raw = self.take(_BARE_VALUE_CHARS)
        if not raw:
            self.fail(f"missing value for '{key}'", start)
        if key in FLAG_NAMES or key in ("arch", "platform", "os", "target"):
            return raw
        parts = raw.split(",")
        if any(not p for p in parts):
            self.fail(f"empty item in value of '{key}'", start)
        return raw if len(parts) == 1 else tuple(parts)

    def version(self) -> Token:
        start = self.pos
        self.pos += 1
        self.skip_spaces()
        chunks: list[str] = []
        while True:
            chunk_start = self.pos
            chunk = self.take(_VERSION_CHARS)
            if "/" in chunk and not chunk.lstrip("=").startswith("git."):
                # ``@1.2/abcdef``: the slash starts a hash, it is not part of the version
                chunk = chunk[: chunk.index("/")]
                self.pos = chunk_start + len(chunk)
            chunks.append(chunk)
            # allow spaces around commas only: "@1.2, 1.4:" is one list
            save = self.pos
            self.skip_spaces()
            if chunk.endswith(",") or self.peek() == ",":
                continue
            self.pos = save
            break
        body = "".join(chunks)
        if not body:
            self.fail("expected a version after '@'", self.pos)
        try:
            versions = VersionConstraint.parse(body)
        except VersionError as exc:
            self.fail(str(exc), start)
        return Token(Kind.VERSION, start, body, versions=versions)

    def bool_variant(self) -> Token:
        start = self.pos
        sign = self.text[self.pos]
        self.pos += 2 if self.peek(1) == sign else 1
        self.skip_spaces()
        variant = self.name("variant name")
        if "." in variant:
            self.fail(f"invalid variant name '{variant}'", start)
        return Token(Kind.BOOL, start, self.text[start : self.pos], key=variant, value=sign == "+")

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
        sigil = self.text[self.pos]
        self.pos += 1
        if sigil == "%" and self.peek() == "%":
            self.pos += 1  # ``%%``: a propagating preference, matched like ``%``
        if self.peek() == "[":
            self.pos += 1
            virtuals, deptypes = self.edge_properties()
            return Token(Kind.EDGE, start, sigil, key=sigil, virtuals=virtuals, deptypes=deptypes)
        self.skip_spaces()
        virtuals = self.virtual_assignment()
        return Token(Kind.EDGE, start, sigil, key=sigil, virtuals=virtuals)

    def virtual_assignment(self) -> tuple[str, ...]:
        """``c,cxx=gcc`` right after a sigil: consume ``c,cxx=``, leave ``gcc``."""
        i = self.pos
        while i < self.n and self.text[i] in _ALNUM | frozenset("-,"):
            i += 1
        if i < self.n and self.text[i] == "=" and i + 1 < self.n and self.text[i + 1] != "=":
            names = tuple(self.text[self.pos : i].split(","))
            if all(names) and all(n[0] in _ALNUM for n in names):
                self.pos = i + 1
                return names
        return ()

    def edge_properties(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        props: dict[str, tuple[str, ...]] = {}
        while True:
            self.skip_spaces()
            if self.peek() == "]":
                self.pos += 1
                break
            start = self.pos
            if not self.peek():
                self.fail("unterminated edge attributes, expected ']'")
            key = self.name("edge attribute")
            if key not in ("virtuals", "deptypes"):
                self.fail(f"unsupported edge attribute '{key}' (only virtuals and deptypes)", start)
            if self.peek() != "=":
                self.fail(f"expected '=' after '{key}'")
            self.pos += 1
            value_start = self.pos
            items = tuple(self.take(_ALNUM | frozenset("-,")).split(","))
            if not all(items):
                self.fail(f"missing value for '{key}'", value_start)
            if key == "deptypes":
                bad = [d for d in items if d not in DEPTYPES]
                if bad:
                    self.fail(f"unknown dependency type '{bad[0]}'", value_start)
            props[key] = items
        self.skip_spaces()
        extra = self.virtual_assignment()
        return props.get("virtuals", ()) + extra, props.get("deptypes", ())


@dataclass
class _Node:
    """Mutable node under construction; frozen into an :class:`AbstractSpec` at the end."""

    name: str | None = None
    namespace: str | None = None
    versions: VersionConstraint = field(default_factory=VersionConstraint.any)
    variants: dict[str, VariantValue] = field(default_factory=dict)
    arch: dict[str, str] = field(default_factory=dict)
    hash_prefix: str | None = None
    virtuals: tuple[str, ...] = ()
    deptypes: tuple[str, ...] = ()
    direct: list[_Node] = field(default_factory=list)
    dependencies: list[_Node] = field(default_factory=list)
    empty: bool = True

    def freeze(self) -> AbstractSpec:
        return AbstractSpec(
            name=self.name,
            versions=self.versions,
            variants=tuple(sorted(self.variants.items())),
            namespace=self.namespace,
            platform=self.arch.get("platform"),
            os=self.arch.get("os"),
            target=self.arch.get("target"),
            hash_prefix=self.hash_prefix,
            dependencies=tuple(d.freeze() for d in self.dependencies),
            direct=tuple(d.freeze() for d in self.direct),
            virtuals=self.virtuals,
            deptypes=self.deptypes,
        )


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
            dep.virtuals, dep.deptypes = tok.virtuals, tok.deptypes
            if tok.key == "^":
                root.dependencies.append(dep)
                current = dep
            else:
                current.direct.append(dep)
        return root.freeze()

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
                self.add_variant(node, tok.key, tok.value, tok)
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
        node.variants[key] = value

    def key_value(self, node: _Node, tok: Token) -> None:
        key, value = tok.key, tok.value
        if key == "arch":
            assert isinstance(value, str)
            parts = value.split("-")
            if len(parts) != 3:
                self.fail(f"arch must be platform-os-target, got '{value}'", tok)
            for attr, part in zip(("platform", "os", "target"), parts, strict=True):
                if part:
                    self.set_arch(node, attr, part, tok)
        elif key in ("platform", "os", "target"):
            assert isinstance(value, str)
            self.set_arch(node, key, value, tok)
        else:
            self.add_variant(node, key, value, tok)

    def set_arch(self, node: _Node, attr: str, value: str, tok: Token) -> None:
        if attr in node.arch and node.arch[attr] != value:
            self.fail(f"conflicting {attr} values '{node.arch[attr]}' and '{value}'", tok)
        if attr != "target" and not set(value) <= _NAME_CHARS:
            self.fail(f"invalid {attr} '{value}'", tok)
        node.arch[attr] = value


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
