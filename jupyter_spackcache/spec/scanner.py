"""Split Spack spec text into tokens, in one left-to-right pass.

No regular expressions, so no backtracking blow-ups on hostile input; but every token ends
exactly where the corresponding regular expression in Spack 1.x's ``spec_parser.py`` would
end it (``@1.2:target=x`` is a version and a key=value; ``@1.2.`` leaves the dot over), so
errors point at the column Spack's caret points at. The grammar itself lives in
:mod:`.parser`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import NoReturn

from jupyter_spackcache.errors import SpecSyntaxError
from jupyter_spackcache.spec.concrete import DEPTYPES
from jupyter_spackcache.spec.version import VersionConstraint, VersionError

ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
NAME_CHARS = ALNUM | frozenset("-.")
_VID_CHARS = ALNUM | frozenset("-.")
_GIT_REF_CHARS = ALNUM | frozenset("-./")
_HEX = frozenset("0123456789abcdefABCDEF")
_VIRTUAL_LIST_CHARS = ALNUM | frozenset("-,")
_PLAIN_VERSION_CHARS = _VID_CHARS | frozenset(":")
#: after these a version may go on (a list, ``=``, a git ref), so the general path decides
_VERSION_CONTINUES = frozenset(",=")
_BARE_VALUE_CHARS = ALNUM | frozenset("-+*.,:=%^~/")
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
    #: KEY_VALUE: the key; BOOL: the variant name; EDGE: ``^``, ``%`` or ``%%``
    key: str = ""
    #: KEY_VALUE: the raw value, quotes removed; BOOL: True for ``+``
    value: str | bool = ""
    propagate: bool = False
    #: KEY_VALUE written ``:=``
    exact: bool = False
    virtuals: tuple[str, ...] = ()
    deptypes: tuple[str, ...] = ()
    #: EDGE: the text of ``when=...``, parsed by the parser
    when: str | None = None
    versions: VersionConstraint | None = None


@lru_cache(maxsize=8192)
def parse_versions(body: str) -> VersionConstraint:
    """Parsed ``@...`` text, cached: resolving over an index parses the same few often."""
    return VersionConstraint.parse(body)


def syntax_error(message: str, text: str, pos: int, hint: str | None = None) -> SpecSyntaxError:
    return SpecSyntaxError(message, text=text, column=pos + 1, hint=hint)


class Scanner:
    """Splits spec text into :class:`Token` objects, one pass, no regular expressions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.n = len(text)

    def fail(self, message: str, pos: int | None = None, hint: str | None = None) -> NoReturn:
        raise syntax_error(message, self.text, self.pos if pos is None else pos, hint)

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
        if c in ALNUM:
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
        if self.peek() not in ALNUM:
            shown = f"'{self.peek()}'" if self.peek() else "end of input"
            self.fail(f"expected a {what}, found {shown}")
        word = self.take(NAME_CHARS)
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
        if self.peek() not in ALNUM:
            return ""
        self.take(_VID_CHARS)
        while self.text[self.pos - 1] in ".-" and self.peek() not in ALNUM:
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
                if not self.peek() or self.peek() not in ALNUM | frozenset("=:"):
                    self.pos = save
                    break
            body = ",".join(items)
        if not body:
            self.fail("expected a version after '@'", start)
        try:
            versions = parse_versions(body)
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
            if self.peek() not in ALNUM:
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
        if self.peek() not in ALNUM:
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
        digest = self.take(ALNUM)
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
                Kind.EDGE,
                start,
                sigil,
                key=sigil,
                virtuals=virtuals,
                deptypes=deptypes,
                when=when,
            )
        self.skip_spaces()
        virtuals = self.virtual_assignment()
        return Token(Kind.EDGE, start, sigil, key=sigil, virtuals=virtuals)

    def virtual_assignment(self) -> tuple[str, ...]:
        """``c,cxx=gcc`` right after a sigil: consume ``c,cxx=``, leave ``gcc``."""
        i = self.pos
        while i < self.n and self.text[i] in _VIRTUAL_LIST_CHARS:
            i += 1
        if i < self.n - 1 and self.text[i] == "=" and self.text[i + 1] in ALNUM:
            names = tuple(self.text[self.pos : i].split(","))
            if all(names) and all(n[0] in ALNUM for n in names):
                self.pos = i + 1
                return names
        return ()

    def edge_properties(self) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
        props: dict[str, str] = {}
        starts: dict[str, int] = {}
        while True:
            self.skip_spaces()
            if self.peek() == "]":
                self.pos += 1
                break
            start = self.pos
            if not self.peek():
                self.fail("unterminated edge attributes, expected ']'")
            if self.peek() not in ALNUM:
                self.fail("unexpected token in edge attributes")
            token = self.word()
            if token.kind is not Kind.KEY_VALUE:
                self.fail("unexpected token in edge attributes", start)
            if token.key not in ("virtuals", "deptypes", "when"):
                self.fail("the only edge attributes are deptypes, virtuals and when", start)
            assert isinstance(token.value, str)
            props[token.key], starts[token.key] = token.value, start
        self.skip_spaces()
        virtuals = tuple(v for v in props.get("virtuals", "").split(",") if v)
        if any(v[0] not in ALNUM or not set(v) <= _VIRTUAL_LIST_CHARS for v in virtuals):
            self.fail(f"invalid virtuals '{props['virtuals']}'", starts["virtuals"])
        virtuals += self.virtual_assignment()
        deptypes: tuple[str, ...] = ()
        if "deptypes" in props:
            items = props["deptypes"].split(",")
            bad = [d for d in items if d not in DEPTYPES]
            if bad:
                self.fail(f"unknown dependency type '{bad[0]}'", starts["deptypes"])
            deptypes = tuple(d for d in DEPTYPES if d in items)
        return virtuals, deptypes, props.get("when")
