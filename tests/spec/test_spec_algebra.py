"""Set algebra on abstract specs: intersects, satisfies and constrain, as Spack 1.x defines them.

Rows re-express the rules Spack's ``spec_semantics.py`` and ``variant.py`` tests pin down:
versions as ranges, open (``=``) and closed (``:=``, boolean) variant sets, ``*``, flags,
architecture with target ranges, namespaces, hashes, dependencies and propagation.
"""

from __future__ import annotations

import pytest

from jupyter_spackcache.errors import UnsatisfiableSpecError
from jupyter_spackcache.spec import (
    AbstractSpec,
    abstract_satisfies,
    constrain,
    intersects,
    parse_spec,
)


def P(text: str) -> AbstractSpec:
    return parse_spec(text) if text else AbstractSpec()


# (lhs, rhs, lhs satisfies rhs, rhs satisfies lhs, their constraint); both ways intersect
COMPATIBLE = [
    ("libelf@0.8.13", "@0:1", True, False, "libelf@0.8.13"),
    ("libelf", "", True, False, "libelf"),
    ("libelf@0:2.5", "libelf@2.1:3", False, False, "libelf@2.1:2.5"),
    ("@2.0:", "@:5.1", False, False, "@2.0:5.1"),
    ("gcc@5.3", "gcc@5", True, False, "gcc@5.3"),
    ("@0.94h", "@:0.94i", True, False, "@0.94h"),
    ("x@=1.2", "x@1.2", True, False, "x@=1.2"),
    # namespaces
    ("builtin.mpich", "mpich", True, False, "builtin.mpich"),
    ("libelf", "namespace=builtin", False, False, "builtin.libelf"),
    # booleans: +x and x=true are one value
    ("mpich+foo", "mpich foo=True", True, True, "mpich+foo"),
    ("mpich~foo", "mpich foo=false", True, True, "mpich~foo"),
    ("libelf+debug", "libelf~foo", False, False, "libelf+debug~foo"),
    # open sets: x=a means "at least a"; two open sets meet in their union
    ("x foo=bar,baz", "x foo=bar", True, False, "x foo=bar,baz"),
    ("x foo=bar", "x foo=baz", False, False, "x foo=bar,baz"),
    ("x foo=baz,bar", "x foo=bar,baz", True, True, "x foo=bar,baz"),
    # closed sets: x:=a means "exactly a"
    ("x foo:=bar,baz", "x foo=bar", True, False, "x foo:=bar,baz"),
    ("x foo:=bar", "x foo=bar", True, False, "x foo:=bar"),
    ("x foo:=bar,baz", "x foo:=baz,bar", True, True, "x foo:=bar,baz"),
    # wildcard: the variant exists, any value
    ("x foo=bar", "x foo=*", True, False, "x foo=bar"),
    ("x+foo", "x foo=*", True, False, "x+foo"),
    ("x foo=*", "x", True, False, "x foo=*"),
    # flags are lists that only grow
    ("x cflags='-O3 -g'", "x cflags=-g", True, False, "x cflags='-O3 -g'"),
    ("x cflags=-O3", "x cflags=-O2", False, False, "x cflags='-O3 -O2'"),
    ("x cflags=-O2", "x cflags=-O3", False, False, "x cflags='-O2 -O3'"),
    ("x cflags=-O3", "x cppflags=-Wall", False, False, "x cflags=-O3 cppflags=-Wall"),
    # patches: a prefix of the sha256 is enough
    ("x patches=ba5e334fe2", "x patches=ba5e3", True, False, "x patches=ba5e3,ba5e334fe2"),
    # architecture
    ("x platform=linux", "platform=linux os=rhel9", False, False, "x platform=linux os=rhel9"),
    ("x platform=linux", "x os=rhel9 platform=linux", False, True, "x platform=linux os=rhel9"),
    ("x arch=linux-None-None", "x platform=linux", True, True, "x platform=linux"),
    ("x platform=linux", "x platform=*", True, False, "x platform=linux"),
    ("x target=x86_64:", "x target=:haswell", True, True, "x target=x86_64:haswell"),
    ("x target=haswell", "x target=x86_64:", True, True, "x target=haswell"),
    ("x target=x86_64:haswell", "x target=x86_64_v2:icelake", True, True,
     "x target=x86_64_v2:haswell"),
    ("x target=zen2", "x target=*", True, False, "x target=zen2"),
    # hashes
    ("x/abcdef", "x/abc", True, False, "x/abcdef"),
    # dependencies: matched by name, merged when named by both
    ("mpileaks ^mpich@2.0", "^mpich@1:3", True, False, "mpileaks ^mpich@2.0"),
    ("mpileaks ^mpi", "^mpich", False, False, "mpileaks ^mpi ^mpich"),
    ("x ^callpath %gcc@5.4", "x ^callpath %gcc@5", True, False, "x ^callpath %gcc@5.4"),
    ("foo %gcc@4.7.3", "%gcc@4.7", True, False, "foo %gcc@4.7.3"),
    ("^mpich@3.2", "^mpich@:4.0+foo", False, False, "^mpich@3.2+foo"),
    ("%mpich", "^mpich", True, False, "%mpich"),
    ("x %clang", "x %llvm@16", False, True, "x %llvm@16"),
    ("x %[deptypes=build] y", "x %[deptypes=link] y", False, False, "x %[deptypes=build,link] y"),
    ("x %[when='%c' virtuals=c] gcc", "%[when='%c' virtuals=c] gcc@10", False, False,
     "x %[when='%c'] c=gcc@10"),
    ("x %[when='%c'] c=gcc", "%[when='%cxx'] cxx=gcc@10", False, False,
     "x %[when='%c'] c=gcc %[when='%cxx'] cxx=gcc@10"),
    # propagation: judged by non-contradiction
    ("hdf5++mpi", "hdf5", True, True, "hdf5++mpi"),
    ("hdf5++mpi", "hdf5++shared", True, True, "hdf5++mpi++shared"),
    ("hdf5+mpi", "hdf5++mpi", True, False, "hdf5+mpi"),
    ("libelf debug==2", "libelf debug=2 foo=1", False, True, "libelf debug=2 foo=1"),
    ("hdf5 ^foo~mpi", "hdf5++mpi", False, False, "hdf5++mpi ^foo~mpi"),
]  # fmt: skip


@pytest.mark.parametrize(("lhs", "rhs", "l_sat", "r_sat", "meet"), COMPATIBLE)
def test_compatible_specs(lhs: str, rhs: str, l_sat: bool, r_sat: bool, meet: str) -> None:
    a, b = P(lhs), P(rhs)
    assert intersects(a, b) and intersects(b, a)
    assert abstract_satisfies(a, b) is l_sat
    assert abstract_satisfies(b, a) is r_sat
    both = constrain(a, b)
    assert both == P(meet)
    if "flags" not in lhs:  # flags keep their order, so only they depend on the order given
        assert constrain(b, a) == both
    if "++" not in lhs + rhs and "==" not in lhs + rhs:
        # the meet is inside both (propagation is exempt: see Spack's own caveat)
        assert abstract_satisfies(both, a) and abstract_satisfies(both, b)
    assert constrain(both, both) == both


DISJOINT = [
    ("foo platform=linux", "platform=test os=redhat6"),
    ("foo os=redhat6", "os=debian6"),
    ("foo%gcc@4.3", "%gcc@4.4:4.6"),
    ("foo@4.0%gcc", "@1:3%gcc"),
    ("builtin.mock.mpich", "builtin.mpich"),
    ("mpileaks^mpich@4.0^callpath@1.5", "^mpich@1:3^callpath@1.4:1.6"),
    ("mpich~foo", "mpich+foo"),
    ("mpich~~foo", "mpich++foo"),
    ("mpich foo==True", "mpich foo==False"),
    ("libelf@0:2.0", "libelf@2.1:3"),
    ("libelf+debug~foo", "libelf+debug+foo"),
    ("namespace=builtin.mock", "namespace=builtin"),
    ("gcc", "clang"),
    ("x foo:=bar", "x foo:=bar,baz"),
    ("x foo:=bar", "x foo=baz"),
    ("x foo=bar", "x+foo"),
    ("x/abc", "x/abd"),
    ("x target=x86_64:", "x target=ppc64le:"),
    ("x target=:haswell", "x target=x86_64_v4:"),
    ("x target=:cascadelake", "x target=:cannonlake"),
    ("mpileaks ^callpath %gcc@5", "mpileaks ^callpath %gcc@6"),
]


@pytest.mark.parametrize(("lhs", "rhs"), DISJOINT)
def test_disjoint_specs(lhs: str, rhs: str) -> None:
    a, b = P(lhs), P(rhs)
    assert not intersects(a, b) and not intersects(b, a)
    assert not abstract_satisfies(a, b) and not abstract_satisfies(b, a)
    for x, y in ((a, b), (b, a)):
        with pytest.raises(UnsatisfiableSpecError) as info:
            constrain(x, y)
        assert info.value.code == "unsatisfiable-spec"


def test_constraining_in_any_order_gives_one_spec() -> None:
    parts = ["^mpich@3.2", "^mpich@:4.0+foo", "+bar", "@2:", "@:5", "%gcc", "^callpath %gcc@12"]
    forward = AbstractSpec()
    for p in parts:
        forward = constrain(forward, P(p))
    backward = AbstractSpec()
    for p in reversed(parts):
        backward = constrain(backward, P(p))
    assert forward == backward
    assert str(forward) == "@2:5+bar %gcc ^callpath %gcc@12 ^mpich@3.2+foo"
