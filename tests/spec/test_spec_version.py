"""Spack version ordering, ranges and constraints (rules from spack/spack lib/spack/version)."""

from __future__ import annotations

import itertools

import pytest

from jupyter_spackcache.spec.version import (
    INFINITY_NAMES,
    Version,
    VersionConstraint,
    VersionError,
    VersionRange,
)

V = Version.parse
C = VersionConstraint.parse

#: ascending, as Spack orders them; each adjacent pair is strictly increasing
ASCENDING = [
    "a",
    "1.2alpha1",
    "1.2alpha2",
    "1.2beta",
    "1.2rc1",
    "1.2rc2",
    "1.2",
    "git.feature=1.2",
    "1.2a",
    "1.2.0",
    "1.2.1",
    "1.2-3",
    "1.2.10",
    "1.10",
    "2",
    "2023",
    "2023.1",
    "2023.3",
    "20231",
    "stable",
    "nightly",
    "trunk",
    "head",
    "master",
    "main",
    "develop",
]


@pytest.mark.parametrize(("lo", "hi"), list(itertools.pairwise(ASCENDING)))
def test_adjacent_versions_are_ordered(lo: str, hi: str) -> None:
    assert V(lo) < V(hi)
    assert V(hi) > V(lo)
    assert V(lo) != V(hi)
    assert not V(hi) <= V(lo)


def test_sorting_matches_the_reference_order_from_any_start() -> None:
    for shift in range(len(ASCENDING)):
        rotated = ASCENDING[shift:] + ASCENDING[:shift]
        assert [str(v) for v in sorted(V(s) for s in rotated)] == ASCENDING


@pytest.mark.parametrize(("a", "b"), list(itertools.combinations(ASCENDING[::3], 2)))
def test_order_is_total_and_antisymmetric(a: str, b: str) -> None:
    va, vb = V(a), V(b)
    assert (va < vb) + (va > vb) + (va == vb) == 1
    assert (va <= vb) == (not va > vb)


@pytest.mark.parametrize(
    ("a", "b"),
    [("1.2", "1.2"), ("1.2", "1.2final"), ("1-2", "1.2"), ("1_2", "1.2"), ("1.2a", "1.2.a")],
)
def test_separators_do_not_compare(a: str, b: str) -> None:
    assert V(a) == V(b)
    assert hash(V(a)) == hash(V(b))


def test_numeric_segments_compare_as_numbers_and_beat_words() -> None:
    assert V("1.10") > V("1.9")
    assert V("1.0") > V("1.beta2x")
    assert V("1.b") > V("1.a")


def test_infinity_names_beat_any_number_in_spack_order() -> None:
    assert list(INFINITY_NAMES)[-1] == "develop"
    assert V("develop") > V("main") > V("master") > V("head") > V("trunk") > V("stable")
    assert V("stable") > V("999999999")
    assert V("develop").is_develop and not V("1.2").is_develop


def test_prerelease_sorts_before_release() -> None:
    assert V("1.2rc1").is_prerelease
    assert V("1.2rc1") < V("1.2")
    assert not V("1.2").is_prerelease


def test_git_version_compares_as_its_assigned_version() -> None:
    git = V("git.v2.1-fix=2.1")
    assert git.is_git and git.ref == "v2.1-fix"
    assert git.assigned == V("2.1")
    assert V("2.0.9") < git < V("2.1.1")
    assert git != V("2.1")
    sha = V("0123456789abcdef0123456789abcdef01234567=develop")
    assert sha.is_git and sha > V("99")


def test_unassigned_git_ref_sorts_last() -> None:
    assert V("git.feature") > V("develop")
    assert V("git.feature").assigned is None


@pytest.mark.parametrize("bad", ["", "1.2$", "1 2", "@1", "git.=1.2", "1.2;"])
def test_invalid_versions_raise(bad: str) -> None:
    with pytest.raises(VersionError):
        V(bad)


# -- constraints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        ("2023", "2023", True),
        ("2023", "2023.1", True),
        ("2023", "2023.3", True),
        ("2023", "20231", False),
        ("2023", "2022.9", False),
        ("2023", "2024", False),
        ("=2023", "2023", True),
        ("=2023", "2023.1", False),
        (":1.4", "1.4.2", True),
        (":1.4", "1.4", True),
        (":1.4", "1.5", False),
        (":1.4", "0.1", True),
        ("1.2:1.4", "1.2", True),
        ("1.2:1.4", "1.1.9", False),
        ("1.2:1.4", "1.3.7", True),
        ("1.2:1.4", "1.4.99", True),
        ("1.2:1.4", "1.5", False),
        ("1.2:", "1.2", True),
        ("1.2:", "develop", True),
        ("1.2:", "1.1", False),
        ("1.3:", "1.2.11", False),
        (":3", "3.99", True),
        (":3", "4", False),
        (":", "anything", True),
        ("1.2,1.4:", "1.2.5", True),
        ("1.2,1.4:", "1.3", False),
        ("1.2,1.4:", "2.0", True),
        ("=1.2,=1.3", "1.3", True),
        ("=1.2,=1.3", "1.2.1", False),
        ("1.2:", "git.x=1.3", True),
        (":1.2", "git.x=1.3", False),
        ("=1.3", "git.x=1.3", False),
        ("git.x=1.3", "git.x=1.3", True),
        ("1.4rc1", "1.4rc1", True),
        ("1.4rc1", "1.4", False),
        ("1.4", "1.4rc1", False),
    ],
)
def test_contains(constraint: str, version: str, expected: bool) -> None:
    assert C(constraint).contains(version) is expected
    assert C(constraint).contains(V(version)) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("1.2:1.4", "1.4:2", True),
        ("1.2:1.4", "1.5:", False),
        ("1.2:1.4", "1.4.5", True),
        (":1.4", "1.4.2:1.6", True),
        ("=1.2", "1.2", True),
        ("=1.2", "=1.2.0", False),
        ("=1.2", "1.3:", False),
        ("1.2,2.0:", "1.5:1.9", False),
        ("1.2,2.0:", "1.5:2.0", True),
        (":", "=3", True),
    ],
)
def test_intersects_is_symmetric(a: str, b: str, expected: bool) -> None:
    assert C(a).intersects(C(b)) is expected
    assert C(b).intersects(C(a)) is expected


@pytest.mark.parametrize(
    "text",
    ["1.2", "=1.2", "1.2:1.4", "1.2:", ":3", ":", "1.2,1.4:", "=1.2,1.3:1.5,2:", "git.x=1.3"],
)
def test_str_round_trips(text: str) -> None:
    assert str(C(text)) == text
    assert C(str(C(text))) == C(text)


def test_same_bound_range_prints_as_one_version() -> None:
    assert str(C("2023:2023")) == "2023"
    assert C("2023:2023") == C("2023")


def test_every_listed_version_satisfies_its_own_range() -> None:
    """Property: v is in @v and in @=v, and ranges built from any two ordered versions hold
    every version between them."""
    numeric = [s for s in ASCENDING if not V(s).is_git]
    for s in numeric:
        assert C(s).contains(s) and C(f"={s}").contains(s)
    for lo, mid, hi in itertools.combinations(numeric[1:19], 3):
        assert C(f"{lo}:{hi}").contains(mid), (lo, mid, hi)
        assert not C(f"{mid}:{hi}").contains(lo)


def test_version_range_fields() -> None:
    item = C("1.2:1.4").items[0]
    assert isinstance(item, VersionRange)
    assert item.lo == V("1.2") and item.hi == V("1.4")
    assert C(":").is_any and not C("1:").is_any
    assert VersionConstraint.any().contains("0")


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("1.4:1.2", "empty version range"),
        ("1:2:3", "invalid version range"),
        ("1.2,", "empty version"),
        ("1.2:git.x=1", "git version cannot bound"),
    ],
)
def test_bad_constraints_raise_with_reason(bad: str, needle: str) -> None:
    with pytest.raises(VersionError, match=needle):
        C(bad)


def test_version_errors_are_user_facing_errors() -> None:
    from jupyter_spackcache.errors import SpackCacheError

    with pytest.raises(SpackCacheError, match="invalid version"):
        V("1.2$")
    assert str(V("1-2_3")) == "1-2_3"
