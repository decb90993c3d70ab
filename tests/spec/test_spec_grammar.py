"""Spack 1.x spec grammar, rule by rule: what each form means, how it prints, where errors point.

The cases are written from the grammar in Spack's ``spec_parser.py`` and the behaviour its
tests pin down (``lib/spack/spack/test/spec_syntax.py``), re-expressed as data. Every
accepted spec must print to text that parses back to the same value.
"""

from __future__ import annotations

import random

import pytest

from jupyter_spackcache.errors import SpecSyntaxError
from jupyter_spackcache.spec import AbstractSpec, join_argv, parse_spec, parse_specs

# (input, Spack's canonical text) -- one row per rule of the grammar
CANONICAL = [
    # names: identifiers with digits, dashes, underscores; ``*`` is anonymous
    ("mvapich_foo", "mvapich_foo"),
    ("_mvapich", "_mvapich"),
    ("3dtk", "3dtk"),
    ("ns-3-dev", "ns-3-dev"),
    ("* +mpi", "+mpi"),
    # versions: single, ranges, open ends, lists (sorted), exact, spaces after @ and ,
    ("@2.7", "@2.7"),
    ("@2.7:", "@2.7:"),
    ("@:2.7", "@:2.7"),
    ("x@1.6,1.2:1.4", "x@1.2:1.4,1.6"),
    ("x@=1.2", "x@=1.2"),
    ("x @ 1.2 , 1.4:", "x@1.2,1.4:"),
    ("%gcc@:8.4.3,10.2.1:12.1.0", "%gcc@:8.4.3,10.2.1:12.1.0"),
    ("@10.4.0:10,11.3.0:target=aarch64:", "@10.4.0:10,11.3.0: target=aarch64:"),
    ("x@git.foo/bar", "x@git.foo/bar"),
    (f"x@git.{'a' * 40}=develop+v", f"x@git.{'a' * 40}=develop+v"),
    ("x@1.2/abcde", "x@1.2/abcde"),
    # boolean variants: + ~ -, sorted, dash inside a name, spaces after the sigil
    ("y~f+e~d+c", "y+c~d+e~f"),
    ("x -shared", "x~shared"),
    ("x +debug-qt_4", "x+debug-qt_4"),
    ("x +debug -qt_4", "x+debug~qt_4"),
    ("@ 12.1:12.6 + debug - qt_4", "@12.1:12.6+debug~qt_4"),
    # propagation is kept and printed
    ("zlib ++foo", "zlib++foo"),
    ("zlib ~~foo", "zlib~~foo"),
    ("zlib --foo", "zlib~~foo"),
    ("zlib foo==bar", "zlib foo==bar"),
    ("zlib cflags=='-O3 -g'", "zlib cflags=='-O3 -g'"),
    # key=value: booleans by value, sets sorted, wildcard, exact sets, quoting
    ("x debug=true", "x+debug"),
    ("x debug=FALSE", "x~debug"),
    ("x foo=baz,bar", "x foo=bar,baz"),
    ("x foo=bar,bar", "x foo=bar"),
    ("x debug=*", "x debug='*'"),
    ("gcc languages:=c,c++", "gcc languages:='c,c++'"),
    ("gcc languages:==c", "gcc languages:==c"),
    ("x languages='c,c++'", "x languages='c,c++'"),
    ('x foo="it\'s"', 'x foo="it\'s"'),
    ("x foo='[a]'", "x foo='[a]'"),
    # flags come first, accumulate, normalise spaces; empty quoted flags set nothing
    ("x +a cflags=-O3", "x cflags=-O3 +a"),
    ("x cflags=-O3 cflags=-g", "x cflags='-O3 -g'"),
    ("x cflags='-O3   -g'", "x cflags='-O3 -g'"),
    ("x ldflags='' +pic", "x+pic"),
    ("cflags=a=b=c", "cflags='a=b=c'"),
    ("cflags=-Wl,a,b,c", "cflags=-Wl,a,b,c"),
    # reserved keys are attributes, not variants
    ("x namespace=builtin", "builtin.x"),
    ("namespace=builtin", "namespace=builtin"),
    ("x arch=linux-rhel9-zen2", "x platform=linux os=rhel9 target=zen2"),
    ("x arch=test-None-None", "x platform=test"),
    ("x arch=None-None-x86_64", "x target=x86_64"),
    ("x arch=x86_64", "x target=x86_64"),
    ("x architecture=linux-rhel9-zen2", "x platform=linux os=rhel9 target=zen2"),
    ("x operating_system=rhel9", "x os=rhel9"),
    ("x os=* platform=* target=*", "x platform=* os=* target=*"),
    ("x target=:broadwell,icelake", "x target=:broadwell,icelake"),
    ("x dev_path=/abs/path", "x dev_path=/abs/path"),
    # hashes
    ("/abcde", "/abcde"),
    ("foo/abcde", "foo/abcde"),
    ("x foo=bar /abcde", "x foo=bar /abcde"),
    ("/c@git.main", "@git.main /c"),
    ("x@1,:", "x"),
    # dependencies: sorted by name, repeated ones merged
    ("mvapich ^stackwalker ^_openmpi", "mvapich ^_openmpi ^stackwalker"),
    ("x ^y@foo ^y@foo", "x ^y@foo"),
    ("x ^y@foo ^y+bar", "x ^y@foo+bar"),
    ("x ^y@foo +bar ^y@foo", "x ^y@foo+bar"),
    ("x ^y@1: ^y@:2", "x ^y@1:2"),
    ("x ^[deptypes=link] z ^[deptypes=build] z", "x ^[deptypes=link] z ^[deptypes=build] z"),
    ("x ^[deptypes=link,build] z", "x ^[deptypes=build,link] z"),
    # % binds to the node before it; what follows belongs to the compiler
    ("foo @2.0 %bar@1.0", "foo@2.0 %bar@1.0"),
    ("hdf5 %gcc@12 ^zlib %clang ^openmpi", "hdf5 %gcc@12 ^openmpi ^zlib %clang"),
    ("x %gcc languages:=c,c++ target=x86_64", "x %gcc languages:='c,c++' target=x86_64"),
    ("x %m %l ^k %n %j", "x %l %m ^k %j %n"),
    # virtual assignment and edge attributes
    ("^[virtuals=mpi] openmpi", "^mpi=openmpi"),
    ("zlib %[virtuals=c,cxx] gcc@14", "zlib %c,cxx=gcc@14"),
    ("zlib %cxx,c,cxx=gcc", "zlib %c,cxx=gcc"),
    ("zlib ^[virtuals=mpi] openmpi ^[virtuals=blas] openmpi", "zlib ^blas,mpi=openmpi"),
    ("zlib %fortran=gcc@14.1 %c,cxx=clang", "zlib %fortran=gcc@14.1 %c,cxx=clang"),
    ("^[virtuals=mpi] openmpi+foo ^[virtuals=lapack] openmpi+bar", "^lapack,mpi=openmpi+bar+foo"),
    ("%foo=bar", "%foo=bar"),
    ("^*foo=bar", "^*foo=bar"),
    ("^*+foo", "^+foo"),
    ("%*~foo", "%~foo"),
    ("x ^*", "x ^*"),
    ("x ^*/abc", "x ^*/abc"),
    ("x ^[virtuals=mpi] *@3", "x ^[virtuals=mpi] @3"),
    # conditional edges and propagated direct dependencies
    ("foo ^[when='%c' virtuals=c] gcc", "foo ^[when='%c'] c=gcc"),
    ("foo ^[when='%c' virtuals=c]gcc", "foo ^[when='%c'] c=gcc"),
    ("foo %[when=+mpi deptypes=build] gcc", "foo %[when='+mpi' deptypes=build] gcc"),
    ("foo %%gcc", "foo %%gcc"),
    ("foo %%c,cxx=gcc", "foo %%c,cxx=gcc"),
    ("foo %%[when='%c'] c=gcc", "foo %%[when='%c'] c=gcc"),
]


@pytest.mark.parametrize(("text", "canonical"), CANONICAL)
def test_canonical_text(text: str, canonical: str) -> None:
    spec = parse_spec(text)
    assert str(spec) == canonical
    again = parse_spec(canonical)
    assert again == spec and hash(again) == hash(spec)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("hdf5 +mpi", "hdf5 ++mpi"),
        ("hdf5 cflags==-g", "hdf5 cflags=-g"),
        ("hdf5 +mpi ++shared", "hdf5 +mpi +shared"),
        ("x foo=bar", "x foo:=bar"),
        ("x foo=*", "x"),
        ("x %gcc", "x %%gcc"),
        ("x %gcc", "x ^gcc"),
        ("x ^y %gcc", "x %gcc ^y"),
        ("x ^[when='+a'] y", "x ^y"),
        ("x ^[when='+a'] y", "x ^[when='+b'] y"),
        ("x ^[virtuals=c] y", "x ^y"),
        ("x ^[deptypes=link] y", "x ^y"),
        ("x@1.2", "x@=1.2"),
    ],
)
def test_different_specs_stay_different(left: str, right: str) -> None:
    a, b = parse_spec(left), parse_spec(right)
    assert a != b and len({a, b}) == 2
    assert str(a) != str(b)


def test_values_model_the_rules() -> None:
    spec = parse_spec("hdf5 ++mpi api:=v18,v110 debug=* cflags==-g ^[when='%c' virtuals=c] gcc")
    assert spec.variant_map == {
        "mpi": True,
        "api": ("v110", "v18"),
        "debug": "*",
        "cflags": "-g",
    }
    assert spec.propagated == {"mpi", "cflags"}
    assert spec.exact == {"api"}
    (gcc,) = spec.dependencies
    assert gcc.when == parse_spec("%c") and gcc.virtuals == ("c",)
    assert parse_spec("x %%gcc").direct[0].propagate_edge
    assert parse_spec("x arch=linux-None-None") == AbstractSpec(name="x", platform="linux")


@pytest.mark.parametrize(
    ("text", "specs"),
    [
        ("mvapich emacs", ["mvapich", "emacs"]),
        ("mvapich cppflags='-O3 -fPIC' emacs", ["mvapich cppflags='-O3 -fPIC'", "emacs"]),
        ("mvapich emacs @1.1.1 cflags=-O3 %intel", ["mvapich", "emacs@1.1.1 cflags=-O3 %intel"]),
        ("x emacs^ncurses%intel", ["x", "emacs ^ncurses %intel"]),
        ("a@1: b", ["a@1:", "b"]),
        ("x b='x'y", ["x b=x", "y"]),
        ("/abc /def", ["/abc", "/def"]),
    ],
)
def test_where_one_spec_ends_and_the_next_starts(text: str, specs: list[str]) -> None:
    assert [str(s) for s in parse_specs(text)] == specs


# (text, column Spack points at, words of the message)
ERRORS = [
    # tokenizer: the first character no token can start at
    ("x@@1.2", 2, "expected a version after '@'"),
    ("y ^x@@1.2", 5, "expected a version after '@'"),
    ("x@1.2::", 7, "unexpected character ':'"),
    ("x::", 2, "unexpected character ':'"),
    ("cflags=''-Wl,a,b,c''", 13, "unexpected character ','"),
    ("@1.2:   develop   = foo", 19, "unexpected character '='"),
    ("@1.2:develop   = foo", 16, "unexpected character '='"),
    ("x foo=", 6, "missing value for 'foo'"),
    # one version, one value per variant
    ("x@1.2@2.3", 6, "only one version"),
    ("x@1.2 +foo~bar @2.3", 16, "only one version"),
    ("x@1.2+debug+debug", 12, "variant 'debug' is given twice"),
    ("x ^y debug=false ~debug", 18, "variant 'debug' is given twice"),
    # repeated dependencies must agree
    ("x ^y@1 ^y@2", 8, "cannot depend on incompatible specs"),
    ("x ^y+a ^y~a", 8, "cannot depend on incompatible specs"),
    ("x ^[deptypes=link]foo ^[deptypes=run]foo", 23, "conflicting dependency types"),
    ("x ^[deptypes=build,link]foo ^[deptypes=link]foo", 29, "conflicting dependency types"),
    # one architecture
    ("x arch=linux-rhel7-x86_64 arch=linux-rhel7-x86_64", 27, "two architectures"),
    ("x os=redhat6 os=debian6", 14, "cannot specify 'os' twice"),
    ("x target=core2 target=x86_64", 16, "cannot specify 'target' twice"),
    ("x platform=test platform=test", 17, "cannot specify 'platform' twice"),
    # reserved names never propagate
    ("x namespace==foo.bar", 3, "Propagation"),
    ("x arch==linux-rhel9-x86_64", 3, "Propagation"),
    ("x os==rhel9", 3, "Propagation"),
    ("x target==x86_64", 3, "Propagation"),
    ("x patches==abcde", 3, "Propagation"),
    ("x ++patches", 3, "Propagation"),
    # edge attributes
    ("^[@foo] zlib", 3, "unexpected token in edge attributes"),
    ("^[foo=bar] zlib", 3, "the only edge attributes are deptypes, virtuals and when"),
    ("x ^[when='@@'] y", 3, "invalid 'when' condition"),
    ("x ^[deptypes=nope] y", 5, "unknown dependency type 'nope'"),
    ("x ^[virtuals=mpi", 17, "unterminated edge attributes"),
    ("x ^", 3, "expected a package or constraint after '^'"),
    # values that could not be printed back
    ("x os=''", 3, "invalid os ''"),
    ("x target='~/a'", 3, "invalid target '~/a'"),
    ("x namespace=git.", 3, "invalid namespace 'git.'"),
    ("x ^[virtuals=a=b] y", 5, "invalid virtuals 'a=b'"),
    # security: no shell metacharacters anywhere
    ("zlib; rm -rf /", 5, "character ';' is not allowed"),
    ("x cflags='$(id)'", 11, "character '$' is not allowed"),
]


@pytest.mark.parametrize(("text", "column", "needle"), ERRORS)
def test_errors_point_where_spack_points(text: str, column: int, needle: str) -> None:
    with pytest.raises(SpecSyntaxError) as info:
        parse_specs(text)
    err = info.value
    assert needle in str(err)
    assert err.column == column, str(err)
    spec_line, caret_line = err.caret().split("\n")
    assert spec_line == text
    assert caret_line == " " * (column - 1) + "^"


# -- printing then re-parsing any accepted spec gives the same spec --------------------------

_NAMES = ["zlib", "py-numpy", "_x3", "builtin.hdf5", "*", ""]
_VERSIONS = ["", "@1.2", "@1.2:", "@:3", "@=2.0", "@1.2:1.4,2:", "@ 1 , 3:", "@git.main=1.0"]
_ATTRS = [
    "+mpi", "~mpi", "-shared", "++omp", "~~pic", "api=v18", "api==v18", "langs:=c,fortran",
    "langs=fortran,c", "debug=*", "debug=true", "cflags='-O2 -g'", "ldflags==-s", "ldflags=''",
    "target=zen2", "target=x86_64_v3:", "os=rhel9", "platform=linux", "os=*", "namespace=b",
    "arch=linux-None-zen3", "arch=None-ubuntu22.04-None", "/abc12", "foo=' a b'",
]  # fmt: skip
_EDGES = [
    "^", "%", "%%", "^[virtuals=mpi] ", "^mpi=", "%c,cxx=", "^[deptypes=build,link] ",
    "%[when='%c' virtuals=c] ", "^[when='+mpi'] ", "^*", "^[when='^openmpi +cuda'] ",
    "%[when=\"cflags='-O2 -g'\"] ", "%%[when='%c'] c=",
]  # fmt: skip


def _random_node(rng: random.Random, named: bool) -> str:
    name = rng.choice(_NAMES[:4]) if named else rng.choice(_NAMES)
    parts = [name + rng.choice(_VERSIONS)]
    parts += rng.sample(_ATTRS, rng.randint(0, 3))
    return " ".join(p for p in parts if p)


def _random_spec(rng: random.Random) -> str:
    out = [_random_node(rng, named=False)]
    for _ in range(rng.randint(0, 3)):
        edge = rng.choice(_EDGES)
        out.append(edge + _random_node(rng, named=edge.endswith("=")))
    return " ".join(out)


def test_print_then_parse_is_identity() -> None:
    rng = random.Random(1729)
    accepted = 0
    for _ in range(3000):
        text = _random_spec(rng)
        try:
            spec = parse_spec(text)
        except SpecSyntaxError:
            continue  # contradictions and duplicates are errors; that is tested above
        accepted += 1
        printed = str(spec)
        again = parse_spec(printed) if printed else AbstractSpec()
        assert again == spec, (text, printed, str(again))
        assert str(again) == printed
    assert accepted > 1500  # the generator mostly writes valid specs


# -- command-line words: the shell took the quotes, so key=value words keep their value -----


@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        (["zlib", "cflags=-O3 -g", "+bar", "baz"], "zlib cflags='-O3 -g' +bar baz"),
        (["zlib", "cflags==-O3 -g", "+bar", "baz"], "zlib cflags=='-O3 -g' +bar baz"),
        (["zlib cflags='-O3 -g' +bar baz"], "zlib cflags='-O3 -g' +bar baz"),
        (["zlib cflags=-O3 -g +bar baz"], "zlib cflags=-O3 +bar~g baz"),
        (["zlib", "cflags=-O3 -g +bar baz"], "zlib cflags='-O3 -g +bar baz'"),
        (["zlib", " cflags=-O3 -g +bar baz"], "zlib cflags=-O3 +bar~g baz"),
        (["zlib", 'cflags="-O3 -g" +bar baz'], """zlib cflags='"-O3 -g" +bar baz'"""),
        (["zlib", "ldflags=", "+pic"], "zlib+pic"),
        (["zlib", "ldflags= +pic"], "zlib ldflags='+pic'"),
        (["zlib", "foo= +pic"], "zlib foo=' +pic'"),
        (["zlib", "languages:=c,c++"], "zlib languages:='c,c++'"),
        ([" ldflags='' +pic"], "+pic"),
        (["zlib ldflags='' +pic"], "zlib+pic"),
        (["hdf5", "@1.14", "+mpi", "^zlib"], "hdf5@1.14+mpi ^zlib"),
    ],
)
def test_command_line_words_join_as_spack_joins_them(argv: list[str], printed: str) -> None:
    assert " ".join(str(s) for s in parse_specs(join_argv(argv))) == printed


@pytest.mark.parametrize("argv", [[" ldflags= +pic"], [" ldflags=", "+pic"], ["x", "f=$(id)"]])
def test_command_line_words_that_stay_errors(argv: list[str]) -> None:
    with pytest.raises(SpecSyntaxError):
        parse_specs(join_argv(argv))


def test_any_text_is_refused_cleanly_or_reads_back() -> None:
    """Character soup from the grammar's own pieces: never a crash, never a lossy print."""
    pieces = [*"abcxyz019_-.@:,=+~^%*/[]' \"", "when=", "virtuals=", "deptypes=", "git.", "arch="]
    pieces += ["os=", "target=", "cflags=", "++", "~~", ":=", "==", "%%", "^[", "None", "link"]
    pieces += ["namespace=", "'%c'", "true"]
    rng = random.Random(2718)
    accepted = 0
    for _ in range(20_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 16)))
        try:
            specs = parse_specs(text)
        except SpecSyntaxError:
            continue
        accepted += 1
        for spec in specs:
            printed = str(spec)
            assert (parse_spec(printed) if printed else AbstractSpec()) == spec, (text, printed)
    assert accepted > 1000
