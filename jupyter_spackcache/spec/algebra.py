"""Spack's set algebra on abstract specs: ``intersects``, ``satisfies`` and ``constrain``.

An abstract spec stands for the set of concrete builds that would fit it. ``satisfies(a, b)``
asks whether ``a``'s set lies inside ``b``'s, ``intersects`` whether the two sets meet, and
``constrain`` gives the spec of their meet (or raises :class:`UnsatisfiableSpecError`). The
parser folds a dependency named twice with these (``x ^y@2 ^y+z``), and callers use them to
compare requests without a package repository: unlike Spack, nothing here knows which
package provides which virtual, so ``^mpi`` and ``^mpich`` are simply different names.

Variant values follow Spack 1.x: ``+x`` and ``x=true`` are one boolean; ``x=a,b`` is an
*open* set (the build has at least these values), ``x:=a,b`` a closed one (exactly these),
``x=*`` any value; compiler flags are lists that only ever grow. A propagated variant
(``++x``) constrains every node that has the variant, so it is judged by not being
contradicted anywhere in the other spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache

from jupyter_spackcache.errors import UnsatisfiableSpecError
from jupyter_spackcache.spec.abstract import (
    ANY_VALUE,
    FLAG_NAMES,
    LEGACY_COMPILER_NAMES,
    AbstractSpec,
    sort_edges,
)
from jupyter_spackcache.spec.concrete import VariantValue

_legacy_name = LEGACY_COMPILER_NAMES.get


def _package(name: str | None) -> str | None:
    """One name per package: ``clang`` is ``llvm`` in Spack 1.x, and so on."""
    return _legacy_name(name, name) if name else name


# -- variants --------------------------------------------------------------------------------


def _values(value: VariantValue) -> tuple[str | bool, ...]:
    if isinstance(value, bool):
        return (value,)
    if isinstance(value, tuple):
        return value
    return () if value == ANY_VALUE else (value,)


def _closed(spec: AbstractSpec, key: str, value: VariantValue) -> bool:
    """Booleans and ``:=`` values are closed sets; ``x=a`` and ``x=*`` are open."""
    return isinstance(value, bool) or key in spec.exact


def _variant_satisfies(a: AbstractSpec, b: AbstractSpec, key: str) -> bool:
    va, vb = a.variant_map.get(key), b.variant_map.get(key)
    if vb is None:
        return True
    if va is None:
        return False
    if key in FLAG_NAMES:
        return set(str(vb).split()) <= set(str(va).split())
    mine, theirs = _values(va), _values(vb)
    if not _closed(b, key, vb):
        if key == "patches":
            return all(any(str(w).startswith(str(v)) for w in mine) for v in theirs)
        return all(v in mine for v in theirs)
    return _closed(a, key, va) and set(mine) == set(theirs)


def _variant_intersects(a: AbstractSpec, b: AbstractSpec, key: str) -> bool:
    va, vb = a.variant_map[key], b.variant_map[key]
    if key in FLAG_NAMES:
        return True
    mine, theirs = _values(va), _values(vb)
    ca, cb = _closed(a, key, va), _closed(b, key, vb)
    if ca and cb:
        return set(mine) == set(theirs)
    if ca:
        return all(v in mine for v in theirs)
    if cb:
        return all(v in theirs for v in mine)
    return True


def _merge_value(key: str, va: VariantValue, vb: VariantValue) -> VariantValue:
    if key in FLAG_NAMES:
        have = str(va).split()
        return " ".join(have + [f for f in str(vb).split() if f not in have])
    if isinstance(va, bool) or isinstance(vb, bool):
        return va if isinstance(va, bool) else vb
    merged = sorted({str(v) for v in (*_values(va), *_values(vb))})
    if not merged:
        return ANY_VALUE
    return merged[0] if len(merged) == 1 else tuple(merged)


# -- architecture ----------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _uarch(name: str) -> object:
    import archspec.cpu  # local: only target ranges need the CPU database

    known = archspec.cpu.TARGETS
    return known[name] if name in known else archspec.cpu.generic_microarchitecture(name)


def _le(a: str, b: str) -> bool:
    return bool(_uarch(a) <= _uarch(b))  # type: ignore[operator]


def _same_family(a: str, b: str) -> bool:
    return bool(_uarch(a).family == _uarch(b).family)  # type: ignore[attr-defined]


def _in_range(name: str, lo: str, hi: str) -> bool:
    return (not lo or _le(lo, name)) and (not hi or _le(name, hi))


def _range_meet(s: tuple[str, str], o: tuple[str, str]) -> str | None:
    """The meet of two target ranges ``lo:hi`` (either end may be empty), as text."""
    highs = [h for h in (s[1], o[1]) if h]
    lows = [lo for lo in (s[0], o[0]) if lo]
    hi = lo = ""
    if len(highs) == 2:
        if not _same_family(*highs):
            return None
        if _le(highs[0], highs[1]):
            hi = highs[0]
        elif _le(highs[1], highs[0]):
            hi = highs[1]
        else:
            return None
    elif highs:
        hi = highs[0]
    if len(lows) == 2:
        if not _same_family(*lows):
            return None
        if _le(lows[1], lows[0]):
            lo = lows[0]
        elif _le(lows[0], lows[1]):
            lo = lows[1]
        else:
            return None
    elif lows:
        lo = lows[0]
    if lo and hi:
        if not _same_family(lo, hi) or not _le(lo, hi):
            return None
        return lo if lo == hi else f"{lo}:{hi}"
    return f"{lo}:{hi}"


def target_intersection(a: str, b: str) -> list[str]:
    """Every target (or range) that both target constraints allow, as Spack computes it."""
    out: list[str] = []
    for s in a.split(","):
        s_lo, s_colon, s_hi = s.partition(":")
        for o in b.split(","):
            o_lo, o_colon, o_hi = o.partition(":")
            if not s_colon and not o_colon:
                if s == o:
                    out.append(s)
            elif not s_colon:
                if _in_range(s, o_lo, o_hi):
                    out.append(s)
            elif not o_colon:
                if _in_range(o, s_lo, s_hi):
                    out.append(o)
            elif (meet := _range_meet((s_lo, s_hi), (o_lo, o_hi))) is not None:
                out.append(meet)
    return out


def _targets_meet(a: str | None, b: str | None) -> bool:
    if a is None or b is None or ANY_VALUE in (a, b):
        return True
    return bool(target_intersection(a, b))


def _is_single_target(target: str) -> bool:
    return ":" not in target and "," not in target


# -- whole specs ------------------------------------------------------------------------------


def _nodes(spec: AbstractSpec) -> Iterator[AbstractSpec]:
    yield spec
    for dep in (*spec.dependencies, *spec.direct):
        yield from _nodes(dep)


def _not_contradicted(source: AbstractSpec, other: AbstractSpec) -> bool:
    """``source``'s propagated variants hold on every node of ``other`` that has them."""
    for key in source.propagated:
        for node in _nodes(other):
            if key in node.variant_map and not _variant_satisfies(node, source, key):
                return False
    return True


def _node_satisfies(a: AbstractSpec, b: AbstractSpec) -> bool:
    if b.name is not None and _package(a.name) != _package(b.name):
        return False
    if b.namespace is not None and a.namespace != b.namespace:
        return False
    if b.hash_prefix is not None and not (a.hash_prefix or "").startswith(b.hash_prefix):
        return False
    if not a.versions.satisfies(b.versions):
        return False
    for attr in ("platform", "os"):
        want, have = getattr(b, attr), getattr(a, attr)
        if want is not None and have != want and (want != ANY_VALUE or have is None):
            return False
    if b.target is not None and b.target != ANY_VALUE:
        if a.target in (None, ANY_VALUE) or not _targets_meet(a.target, b.target):
            return False
    elif b.target == ANY_VALUE and a.target is None:
        return False
    mine = a.variant_map
    for key, _ in b.variants:
        if key in b.propagated:
            continue
        if key not in mine or key in a.propagated or not _variant_satisfies(a, b, key):
            return False
    return True


def _edge_satisfies(a: AbstractSpec, b: AbstractSpec) -> bool:
    return (
        set(b.virtuals) <= set(a.virtuals)
        and set(b.deptypes) <= set(a.deptypes)
        and (b.when is None or a.when == b.when)
        and satisfies(replace(a, virtuals=(), deptypes=(), when=None), _bare(b))
    )


def _bare(spec: AbstractSpec) -> AbstractSpec:
    return replace(spec, virtuals=(), deptypes=(), when=None, propagate_edge=False)


def satisfies(a: AbstractSpec, b: AbstractSpec) -> bool:
    """Whether every build fitting ``a`` also fits ``b`` (Spack's ``a.satisfies(b)``)."""
    if not _node_satisfies(a, b):
        return False
    for want in b.direct:
        if not any(_edge_satisfies(have, want) for have in a.direct):
            return False
    for want in b.dependencies:
        # a direct dependency (``%x``) is also somewhere in the DAG (``^x``)
        if not any(_edge_satisfies(have, want) for have in (*a.dependencies, *a.direct)):
            return False
    return _not_contradicted(b, a) and _not_contradicted(a, b)


def _prefix_related(x: str, y: str) -> bool:
    return x.startswith(y) or y.startswith(x)


def _node_intersects(a: AbstractSpec, b: AbstractSpec) -> bool:
    if a.name and b.name and _package(a.name) != _package(b.name):
        return False
    if a.namespace and b.namespace and a.namespace != b.namespace:
        return False
    if a.hash_prefix and b.hash_prefix and not _prefix_related(a.hash_prefix, b.hash_prefix):
        return False
    if not a.versions.intersects(b.versions):
        return False
    for attr in ("platform", "os"):
        x, y = getattr(a, attr), getattr(b, attr)
        if x and y and x != y and ANY_VALUE not in (x, y):
            return False
    if not _targets_meet(a.target, b.target):
        return False
    mine = a.variant_map
    return all(_variant_intersects(a, b, key) for key, _ in b.variants if key in mine)


def _paired(
    mine: tuple[AbstractSpec, ...], theirs: tuple[AbstractSpec, ...]
) -> Iterator[tuple[AbstractSpec, AbstractSpec]]:
    for y in theirs:
        for x in mine:
            if x.name and _package(x.name) == _package(y.name) and x.when == y.when:
                yield x, y


def intersects(a: AbstractSpec, b: AbstractSpec) -> bool:
    """Whether some build could fit both ``a`` and ``b`` (symmetric)."""
    if not _node_intersects(a, b):
        return False
    pairs = [*_paired(a.direct, b.direct), *_paired(a.dependencies, b.dependencies)]
    return all(intersects(_bare(x), _bare(y)) for x, y in pairs)


def _constrain_node(a: AbstractSpec, b: AbstractSpec) -> AbstractSpec:
    mine, theirs = a.variant_map, b.variant_map
    variants = dict(mine)
    for key, value in theirs.items():
        variants[key] = _merge_value(key, mine[key], value) if key in mine else value
    propagated = {k for k in variants if k in (a.propagated if k in mine else b.propagated)}
    propagated -= {k for k in theirs if k in mine and k not in b.propagated}
    exact = (a.exact | b.exact) & {k for k, v in variants.items() if not isinstance(v, bool)}
    target = a.target or b.target
    if a.target and b.target and a.target != b.target and ANY_VALUE not in (a.target, b.target):
        if _is_single_target(a.target):
            target = a.target
        elif _is_single_target(b.target):
            target = b.target
        else:
            target = ",".join(target_intersection(a.target, b.target))
    elif a.target == ANY_VALUE:
        target = b.target or a.target
    hashes = sorted(filter(None, (a.hash_prefix, b.hash_prefix)), key=len)
    versions = a.versions.intersection(b.versions)
    assert versions is not None  # checked by intersects
    return AbstractSpec(
        name=_package(a.name) if a.name and b.name and a.name != b.name else a.name or b.name,
        versions=versions,
        variants=tuple(sorted(variants.items())),
        namespace=a.namespace or b.namespace,
        platform=_pick(a.platform, b.platform),
        os=_pick(a.os, b.os),
        target=target,
        hash_prefix=hashes[-1] if hashes else None,
        virtuals=tuple(sorted(set(a.virtuals) | set(b.virtuals))),
        deptypes=a.deptypes if a.deptypes == b.deptypes else _union_deptypes(a, b),
        propagated=frozenset(propagated),
        exact=frozenset(exact),
        when=a.when,
        propagate_edge=a.propagate_edge or b.propagate_edge,
    )


def _pick(x: str | None, y: str | None) -> str | None:
    return y if x in (None, ANY_VALUE) and y is not None else x


def _union_deptypes(a: AbstractSpec, b: AbstractSpec) -> tuple[str, ...]:
    from jupyter_spackcache.spec.concrete import DEPTYPES

    both = set(a.deptypes) | set(b.deptypes)
    return tuple(d for d in DEPTYPES if d in both)


def _constrain_edges(
    mine: tuple[AbstractSpec, ...], theirs: tuple[AbstractSpec, ...]
) -> tuple[AbstractSpec, ...]:
    out = list(mine)
    for y in theirs:
        for i, x in enumerate(out):
            if x.name is not None and _package(x.name) == _package(y.name) and x.when == y.when:
                out[i] = constrain(x, y)
                break
            if x.name is None and x == y:
                break
        else:
            out.append(y)
    return sort_edges(out)


def constrain(a: AbstractSpec, b: AbstractSpec) -> AbstractSpec:
    """The spec of builds fitting both ``a`` and ``b``; raises when there are none."""
    if not intersects(a, b):
        raise UnsatisfiableSpecError(
            f"'{a}' and '{b}' cannot both hold",
            hint="remove one of the contradicting constraints",
        )
    node = _constrain_node(a, b)
    direct = list(_constrain_edges(a.direct, b.direct))
    transitive = []
    for dep in _constrain_edges(a.dependencies, b.dependencies):
        # ``%foo`` is also a dependency somewhere in the DAG, so it absorbs ``^foo``
        same = [
            i for i, d in enumerate(direct) if dep.name and _package(d.name) == _package(dep.name)
        ]
        if same and direct[same[0]].when == dep.when and intersects(direct[same[0]], dep):
            direct[same[0]] = constrain(direct[same[0]], _bare(dep))
        else:
            transitive.append(dep)
    return replace(node, direct=sort_edges(direct), dependencies=sort_edges(transitive))
