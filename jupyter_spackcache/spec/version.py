"""Spack versions, ranges and version constraints.

Spack orders versions by splitting them into numeric and alphabetic segments (separators
``.``, ``-``, ``_`` and digit/letter boundaries only split, they never compare). Numeric
segments compare as integers and beat alphabetic ones; a handful of branch names
(``develop``, ``main``...) beat every number. A trailing ``alpha``/``beta``/``rc`` marks a
pre-release that sorts *before* the release. A constraint ``@1.2`` is not the version 1.2
but the range ``1.2:1.2``, which also holds 1.2.5 (Spack's prefix semantics); ``@=1.2`` is
the single version.

Every version is mapped once to a plain tuple key, so comparisons are Python tuple
comparisons: cheap enough to sort the versions of a 50,000-node index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from jupyter_spackcache.errors import SpecSyntaxError

#: Branch-like names that are newer than any numbered release, oldest first.
INFINITY_NAMES = ("stable", "nightly", "trunk", "head", "master", "main", "develop")
_INFINITY_INDEX = {name: i for i, name in enumerate(INFINITY_NAMES)}

_ALPHA, _BETA, _RC, _FINAL = 0, 1, 2, 3
_PRERELEASE = {"alpha": _ALPHA, "beta": _BETA, "rc": _RC, "final": _FINAL}
_PRERELEASE_NAMES = ("alpha", "beta", "rc")

_SEPARATORS = frozenset("._-")
_VERSION_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_HEX = frozenset("0123456789abcdefABCDEF")

# A segment key is (kind, number, text): kind 0 = word, 1 = number, 2 = branch name; so
# words < numbers < branch names, exactly Spack's order, using native tuple comparison.
Segment = tuple[int, int, str]
#: (release segments, pre-release tuple); compared lexicographically
VersionKey = tuple[tuple[Segment, ...], tuple[int, ...]]

_TOP: Segment = (2, len(INFINITY_NAMES), "")  # above every branch name ("infinity")


class VersionError(SpecSyntaxError, ValueError):
    """A version or version constraint could not be parsed (the parser adds the column)."""


def _segments(text: str) -> tuple[list[str], list[str]]:
    """Split ``text`` into word/number runs and the separators after each."""
    runs: list[str] = []
    seps: list[str] = []
    i, n = 0, len(text)
    while i < n and text[i] in _SEPARATORS:
        i += 1
    while i < n:
        j = i
        if text[i].isdigit():
            while j < n and text[j].isdigit():
                j += 1
        else:
            while j < n and text[j].isalpha():
                j += 1
        runs.append(text[i:j])
        k = j
        while k < n and text[k] in _SEPARATORS:
            k += 1
        seps.append(text[j:k])
        i = k
    return runs, seps


def _segment_key(run: str) -> Segment:
    if run.isdigit():
        return (1, int(run), "")
    index = _INFINITY_INDEX.get(run)
    return (2, index, "") if index is not None else (0, 0, run)


def _standard_key(text: str) -> VersionKey:
    if not text or text[0] not in _VERSION_CHARS or not set(text) <= _VERSION_CHARS:
        raise VersionError(f"invalid version {text!r}")
    runs, _ = _segments(text)
    prerelease: tuple[int, ...] = (_FINAL,)
    if len(runs) >= 3 and runs[-2] in _PRERELEASE and runs[-1].isdigit():
        prerelease = (_PRERELEASE[runs[-2]], int(runs[-1]))
        runs = runs[:-2]
    elif len(runs) >= 2 and runs[-1] in _PRERELEASE:
        prerelease = (_PRERELEASE[runs[-1]],)
        runs = runs[:-1]
    return tuple(_segment_key(r) for r in runs), prerelease


def _is_commit_sha(text: str) -> bool:
    return len(text) in (40, 64) and set(text) <= _HEX


@dataclass(frozen=True, slots=True, order=False)
class Version:
    """One concrete version, e.g. ``1.2.11``, ``develop`` or ``git.v2.1=2.1``.

    A git version (``git.<ref>=<version>`` or ``<sha>=<version>``) sorts with the version it
    is assigned, just after the plain release of the same number. A git ref without an
    assigned version sorts after everything (its release is unknown).
    """

    string: str = field(compare=False)
    key: VersionKey = field(repr=False, compare=False)
    #: git ref for git versions (``git.`` prefix removed), else None
    ref: str | None = field(default=None, repr=False, compare=False)
    #: the version a git ref was assigned; None for plain versions and unassigned refs
    assigned: Version | None = field(default=None, repr=False, compare=False)
    _sort: tuple[object, ...] = field(default=(), repr=False, compare=True)

    @classmethod
    def parse(cls, text: str) -> Version:
        text = text.strip()
        if text.startswith("git.") or "=" in text[1:] or _is_commit_sha(text):
            return cls._parse_git(text)
        key = _standard_key(text)
        return cls(text, key, None, None, (key, 0, ""))

    @classmethod
    def _parse_git(cls, text: str) -> Version:
        body = text[4:] if text.startswith("git.") else text
        ref, eq, assigned_text = body.partition("=")
        if not ref:
            raise VersionError(f"invalid git version {text!r}: missing ref")
        if not eq:
            top: VersionKey = ((_TOP,), (_FINAL,))
            return cls(text, top, ref, None, (top, 2, ref))
        if ":" in assigned_text:
            raise VersionError(f"git version ranges are not supported: {text!r}")
        assigned = cls.parse(assigned_text)
        if assigned.ref is not None:
            raise VersionError(f"invalid git version {text!r}")
        return cls(text, assigned.key, ref, assigned, (assigned.key, 1, ref))

    @property
    def is_git(self) -> bool:
        return self.ref is not None

    @property
    def is_develop(self) -> bool:
        """True for branch-like versions (``develop``, ``main``...) that outrank releases."""
        return any(kind == 2 for kind, _, _ in self.key[0])

    @property
    def is_prerelease(self) -> bool:
        return self.key[1][0] != _FINAL

    def __str__(self) -> str:
        return self.string

    def __lt__(self, other: Version) -> bool:
        return self._sort < other._sort

    def __le__(self, other: Version) -> bool:
        return self._sort <= other._sort

    def __gt__(self, other: Version) -> bool:
        return self._sort > other._sort

    def __ge__(self, other: Version) -> bool:
        return self._sort >= other._sort


def _next_word(word: str) -> str:
    """The next string in Spack's A-Z, a-z enumeration, skipping branch names."""
    while True:
        if not word or word[-1] == "z":
            word += "A"
        elif word[-1] == "Z":
            word = word[:-1] + "a"
        else:
            word = word[:-1] + chr(ord(word[-1]) + 1)
        if word not in _INFINITY_INDEX:
            return word


def _next_key(key: VersionKey) -> VersionKey:
    """The smallest key above every version having ``key`` as a prefix (range upper bound)."""
    release, pre = key
    if pre[0] != _FINAL:
        return release, (pre[0], pre[1] + 1 if len(pre) > 1 else 0)
    if not release:
        return ((0, 0, "A"),), pre
    kind, number, word = release[-1]
    if kind == 0:
        last: Segment = (0, 0, _next_word(word))
    else:
        last = (kind, number + 1, "")
    return (*release[:-1], last), pre


def _bound(v: Version) -> VersionKey:
    if v.ref is not None:
        raise VersionError(f"a git version cannot bound a range: {v}")
    return v.key


@dataclass(frozen=True, slots=True)
class VersionRange:
    """``lo:hi`` with Spack's inclusive-prefix upper bound; either end may be open.

    ``1.2:1.4`` holds 1.2 up to every 1.4.x; ``2023`` alone is the range ``2023:2023``.
    """

    lo: Version | None
    hi: Version | None

    def __post_init__(self) -> None:
        lo = None if self.lo is None else _bound(self.lo)
        hi = None if self.hi is None else _bound(self.hi)
        if lo is not None and hi is not None and _next_key(hi) <= lo:
            raise VersionError(f"empty version range {self}")

    def contains(self, v: Version) -> bool:
        if v.ref is not None:
            if v.assigned is None:
                return self.lo is None and self.hi is None
            v = v.assigned
        if self.lo is not None and v.key < self.lo.key:
            return False
        return self.hi is None or v.key < _next_key(self.hi.key)

    def intersects(self, other: VersionRange) -> bool:
        lo_ok = self.hi is None or other.lo is None or other.lo.key < _next_key(self.hi.key)
        hi_ok = other.hi is None or self.lo is None or self.lo.key < _next_key(other.hi.key)
        return lo_ok and hi_ok

    def __str__(self) -> str:
        lo = "" if self.lo is None else str(self.lo)
        hi = "" if self.hi is None else str(self.hi)
        if self.lo is not None and self.hi is not None and self.lo.string == self.hi.string:
            return lo
        return f"{lo}:{hi}"


#: one element of a constraint: an exact version (``=1.2``) or a range
VersionItem = Version | VersionRange


def _item_contains(item: VersionItem, v: Version) -> bool:
    if isinstance(item, VersionRange):
        return item.contains(v)
    return item == v


def _items_intersect(a: VersionItem, b: VersionItem) -> bool:
    if isinstance(a, Version):
        return _item_contains(b, a)
    if isinstance(b, Version):
        return a.contains(b)
    return a.intersects(b)


def _lo_key(item: VersionItem) -> tuple[int, VersionKey | None]:
    """Sort key for canonical order: by lower end, open ranges first (as Spack lists them)."""
    if isinstance(item, Version):
        return (1, (item.assigned or item).key) if item.ref is None or item.assigned else (2, None)
    return (0, None) if item.lo is None else (1, item.lo.key)


def _upper(item: VersionRange) -> VersionKey | None:
    return None if item.hi is None else _next_key(item.hi.key)


def _range_meet(a: VersionRange, b: VersionRange) -> VersionRange | None:
    """The range both ``a`` and ``b`` hold, or None when they are disjoint."""
    if not a.intersects(b):
        return None
    lo = a.lo if b.lo is None or (a.lo is not None and a.lo.key >= b.lo.key) else b.lo
    a_up, b_up = _upper(a), _upper(b)
    hi = a.hi if b_up is None or (a_up is not None and a_up <= b_up) else b.hi
    try:
        return VersionRange(lo, hi)
    except VersionError:
        return None


def _item_meet(a: VersionItem, b: VersionItem) -> VersionItem | None:
    if isinstance(a, Version):
        return a if _item_contains(b, a) else None
    if isinstance(b, Version):
        return b if a.contains(b) else None
    return _range_meet(a, b)


def _item_within(a: VersionItem, b: VersionItem) -> bool:
    """Every version ``a`` holds is also held by ``b``."""
    if isinstance(a, Version):
        return _item_contains(b, a)
    if isinstance(b, Version):
        return False
    lo_ok = b.lo is None or (a.lo is not None and a.lo.key >= b.lo.key)
    a_up, b_up = _upper(a), _upper(b)
    return lo_ok and (b_up is None or (a_up is not None and a_up <= b_up))


def _parse_item(text: str) -> VersionItem:
    if not text:
        raise VersionError("empty version")
    if text.startswith("="):
        return Version.parse(text[1:])
    if text.startswith("git.") or _is_commit_sha(text.partition("=")[0]):
        return Version.parse(text)
    if ":" in text:
        lo_text, _, hi_text = text.partition(":")
        if ":" in hi_text:
            raise VersionError(f"invalid version range {text!r}")
        lo = Version.parse(lo_text) if lo_text else None
        hi = Version.parse(hi_text) if hi_text else None
        return VersionRange(lo, hi)
    v = Version.parse(text)
    return VersionRange(v, v)


@dataclass(frozen=True, slots=True, repr=False)
class VersionConstraint:
    """What ``@...`` asks for: a union of exact versions and ranges (``@1.2,1.4:``)."""

    items: tuple[VersionItem, ...]

    @classmethod
    def parse(cls, text: str) -> VersionConstraint:
        """Parse the text after ``@``; raises :class:`VersionError` on bad input."""
        parts = [p.strip() for p in text.split(",")]
        return cls.of(_parse_item(p) for p in parts)

    @classmethod
    def of(cls, items: Iterable[VersionItem]) -> VersionConstraint:
        """A constraint in Spack's canonical order (sorted by lower end, no repeats)."""
        unique = list(dict.fromkeys(items))
        if any(isinstance(i, VersionRange) and i.lo is None and i.hi is None for i in unique):
            return _ANY  # ``@1,:`` holds every version: it is ``@:``
        if len(unique) > 1:
            unique.sort(key=_lo_key)
        return cls(tuple(unique))

    @classmethod
    def any(cls) -> VersionConstraint:
        return _ANY

    @property
    def is_any(self) -> bool:
        return any(
            isinstance(i, VersionRange) and i.lo is None and i.hi is None for i in self.items
        )

    def contains(self, v: Version | str) -> bool:
        """Whether the concrete version ``v`` satisfies this constraint."""
        version = Version.parse(v) if isinstance(v, str) else v
        return any(_item_contains(item, version) for item in self.items)

    def intersects(self, other: VersionConstraint) -> bool:
        """Whether some version could satisfy both constraints."""
        return any(_items_intersect(a, b) for a in self.items for b in other.items)

    def satisfies(self, other: VersionConstraint) -> bool:
        """Whether every version this constraint holds is also held by ``other``."""
        if other.is_any:
            return True
        return all(any(_item_within(a, b) for b in other.items) for a in self.items)

    def intersection(self, other: VersionConstraint) -> VersionConstraint | None:
        """The versions both constraints hold, or None when no version could satisfy both."""
        if other.is_any:
            return self
        if self.is_any:
            return other
        meets = [m for a in self.items for b in other.items if (m := _item_meet(a, b))]
        return VersionConstraint.of(meets) if meets else None

    def __repr__(self) -> str:
        return f"VersionConstraint({str(self)!r})"

    def __str__(self) -> str:
        return ",".join(
            f"={i}" if isinstance(i, Version) and not i.is_git else str(i) for i in self.items
        )


_ANY = VersionConstraint((VersionRange(None, None),))
