"""How many of Spack's own spec test cases does jupyter_spackcache.spec agree with?

    python scripts/spack-spec-conformance.py SPACK_GIT_DIR [TAG] [-v]

Reads the pytest parameter tables of ``lib/spack/spack/test/spec_syntax.py``,
``spec_semantics.py`` and the one-line assertions of ``variant.py`` at TAG (default v1.1.0)
from a Spack git directory, evaluates them as data (Spack's Token objects are ignored), and
checks each case against this package: parse/print, error columns, refused specs, and
intersects/satisfies/constrain. Prints the agreeing count per group and overall; ``-v`` lists
the disagreements. A measurement tool, not a test: some cases need Spack's mock packages or
mock platform (``os=fe``, ``^mpi`` resolved to a provider) and cannot agree by design.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import types
from collections.abc import Callable
from typing import Any

from jupyter_spackcache import spec as S
from jupyter_spackcache.errors import SpackCacheError, SpecSyntaxError

ARGS = [a for a in sys.argv[1:] if not a.startswith("-")]
GIT, TAG = ARGS[0], ARGS[1] if len(ARGS) > 1 else "v1.1.0"
VERBOSE = "-v" in sys.argv


def source(path: str) -> str:
    cmd = ["git", "-C", GIT, "show", f"{TAG}:{path}"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


class _Anything:
    def __getattr__(self, _: str) -> _Anything:
        return self

    def __call__(self, *_: object, **__: object) -> _Anything:
        return self


NAMESPACE: dict[str, Any] = {
    "Token": lambda *a, **k: None,
    "SpecTokens": _Anything(),
    "pytest": types.SimpleNamespace(param=lambda *values, **_: values),
    "spack": _Anything(),
    "Spec": lambda *a: a[0] if a else "",
    "ArchSpec": "ArchSpec",
    "SpecTokenizationError": SpecSyntaxError,
    "simple_package_name": lambda n: (n, None, n),
    "dependency_with_version": lambda t: (t, None, t),
}
NAMESPACE["spack"].platforms.test.Test.default = "default_target"


def tables(path: str) -> dict[str, list[Any]]:
    """Every ``@pytest.mark.parametrize`` table in the file that evaluates as plain data."""
    out: dict[str, list[Any]] = {}
    for node in ast.walk(ast.parse(source(path))):
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            if isinstance(dec, ast.Call) and getattr(dec.func, "attr", "") == "parametrize":
                try:
                    code = compile(ast.Expression(dec.args[1]), path, "eval")
                    out[node.name] = eval(code, dict(NAMESPACE))
                except Exception:  # tables that need Spack itself are skipped
                    continue
    return out


RESULTS: dict[str, list[tuple[str, bool, str]]] = {}


def check(group: str, case: str, fn: Callable[[], object]) -> None:
    try:
        ok, why = bool(fn()), "wrong result"
    except Exception as exc:
        ok, why = False, f"{type(exc).__name__}: {exc}"
    RESULTS.setdefault(group, []).append((case, ok, "" if ok else why))


def P(text: str) -> S.AbstractSpec:
    return S.parse_spec(text) if text.strip() else S.AbstractSpec()


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise AssertionError(message)


def _missing(*_: object) -> Any:
    raise NotImplementedError("no abstract satisfies/intersects/constrain in this version")


def refused(text: str) -> bool:
    try:
        S.parse_specs(text)
    except SpackCacheError:
        return True
    raise AssertionError("accepted")


def syntax(t: dict[str, list[Any]]) -> None:
    for text, _, want in t["test_parse_single_spec"]:

        def single(text: str = text, want: str = want) -> bool:
            got = str(S.parse_specs(text)[0])
            expect(got == want, f"got {got!r}, Spack {want!r}")
            return True

        check("parse and print", text, single)
    for text, _, wants in t["test_parse_multiple_specs"]:

        def multiple(text: str = text, wants: list[str] = wants) -> bool:
            return [str(s) for s in S.parse_specs(text)] == [str(P(w)) for w in wants]

        check("several specs", text, multiple)
    for text, shown in t["test_error_reporting"]:

        def column(text: str = text, shown: str = shown) -> bool:
            want = shown.split(r"\n")[1].index("^") + 1
            try:
                S.parse_specs(text)
            except SpecSyntaxError as exc:
                expect(exc.column == want, f"column {exc.column}, Spack {want}")
                return True
            raise AssertionError("accepted")

        check("error column", text, column)
    for text, _ in t["test_error_conditions"]:
        check("refused", text, lambda text=text: refused(text))
    for argv, want in t["test_cli_spec_roundtrip"]:

        def argv_joined(argv: list[str] = argv, want: Any = want) -> bool:
            try:
                join = getattr(S, "join_argv", " ".join)
                got: Any = " ".join(str(s) for s in S.parse_specs(join(argv)))
            except SpecSyntaxError:
                got = SpecSyntaxError
            expect(got == want, f"got {got!r}, Spack {want!r}")
            return True

        check("command-line words", repr(argv), argv_joined)
    for text, _ in t["test_spec_by_hash_tokens"]:
        check("hash", text, lambda text=text: P(text).hash_prefix == "abcde")


def semantics(t: dict[str, list[Any]]) -> None:
    sat, meet, inter = (
        getattr(S, n, _missing) for n in ("abstract_satisfies", "constrain", "intersects")
    )
    for lhs, rhs, want in t["test_abstract_specs_can_constrain_each_other"]:

        def both(lhs: str = lhs, rhs: str = rhs, want: str = want) -> bool:
            a, b = P(lhs), P(rhs)
            expect(inter(a, b) and inter(b, a), "no intersection")
            expect(meet(a, b) == meet(b, a) == P(want), f"{meet(a, b)} / {meet(b, a)}")
            return True

        check("constrain each other", f"{lhs} | {rhs}", both)
    for lhs, rhs in t["test_constraining_abstract_specs_with_empty_intersection"]:

        def disjoint(lhs: str = lhs, rhs: str = rhs) -> bool:
            a, b = P(lhs), P(rhs)
            expect(not inter(a, b) and not inter(b, a), "intersects")
            for x, y in ((a, b), (b, a)):
                try:
                    meet(x, y)
                except SpackCacheError:
                    continue
                raise AssertionError("constrained")
            return True

        check("empty intersection", f"{lhs} | {rhs}", disjoint)
    for lhs, rhs, want_sat, want in t["test_abstract_specs_with_propagation"]:

        def propagation(lhs: str = lhs, rhs: str = rhs, s: bool = want_sat, w: str = want) -> bool:
            a, b = P(lhs), P(rhs)
            return sat(a, b) is s and meet(a, b) == meet(b, a) == P(w)

        check("propagation", f"{lhs} | {rhs}", propagation)
    for factory, lhs, rhs, want3 in t["test_intersects_and_satisfies"]:
        wrap = (lambda s: P(f"arch={s}")) if factory == "ArchSpec" else P

        pair = (wrap(lhs), wrap(rhs))

        def table(pair: Any = pair, w: Any = want3) -> bool:
            a, b = pair
            got = (inter(a, b), sat(a, b), sat(b, a))
            expect(got == tuple(w) and inter(b, a) == got[0], f"got {got}")
            return True

        check("intersects and satisfies", f"{lhs} | {rhs}", table)
    for factory, lhs, rhs, _, want in t["test_constrain"]:
        wrap = (lambda s: P(f"arch={s}")) if factory == "ArchSpec" else P

        triple = (wrap(lhs), wrap(rhs), wrap(want))

        def constrained(triple: Any = triple) -> bool:
            a, b, w = triple
            return bool(meet(a, b) == meet(b, a) == w)

        check("constrain", f"{lhs} | {rhs}", constrained)
    for lhs, rhs in t["test_equality_discriminate_on_propagation"]:
        check("equality", f"{lhs} != {rhs}", lambda lhs=lhs, rhs=rhs: P(lhs) != P(rhs))
    for lhs, rhs, want in t["test_specs_equality"]:
        check("equality", f"{lhs} == {rhs}", lambda a=lhs, b=rhs, w=want: (P(a) == P(b)) is w)
    for lhs, rhs, want in t["test_abstract_contains_semantic"]:
        check("contains", f"{lhs} in {rhs}", lambda a=lhs, b=rhs, w=want: sat(P(b), P(a)) is w)
    for parts, want in t["test_constrain_symbolically"]:

        def folded(parts: list[str] = parts, want: str = want) -> bool:
            for order in (parts, parts[::-1]):
                acc = S.AbstractSpec()
                for p in order:
                    acc = meet(acc, P(p))
                expect(acc == P(want), f"{acc} != {want}")
            return True

        check("constrain in any order", " , ".join(parts), folded)


def variants() -> None:
    pattern = r'assert (not )?Spec\("([^"]*)"\)\.(satisfies|intersects)\("([^"]*)"\)'
    for neg, lhs, op, rhs in re.findall(pattern, source("lib/spack/spack/test/variant.py")):
        fn = getattr(S, "abstract_satisfies" if op == "satisfies" else "intersects", _missing)
        check("variant values", f"{lhs} {op} {rhs}", lambda f=fn, a=lhs, b=rhs, n=neg: (
            f(P(a), P(b)) is (not n)
        ))  # fmt: skip


def main() -> None:
    syntax(tables("lib/spack/spack/test/spec_syntax.py"))
    semantics(tables("lib/spack/spack/test/spec_semantics.py"))
    variants()
    total = agree = 0
    for group, rows in RESULTS.items():
        good = sum(ok for _, ok, _ in rows)
        total, agree = total + len(rows), agree + good
        print(f"{group:26s} {good:4d}/{len(rows)}")
        for case, ok, why in rows:
            if VERBOSE and not ok:
                print(f"    {case!r}: {why}")
    print(f"{'all':26s} {agree:4d}/{total}")


if __name__ == "__main__":
    main()
