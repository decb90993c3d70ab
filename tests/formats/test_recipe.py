"""Recipe snapshots: the package class's docstring, read with ast, from recipes in Spack's style
and from the snapshots inside tarballs Spack itself wrote."""

from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

import pytest

from jupyter_spackcache.formats.recipe import (
    MAX_DESCRIPTION,
    class_name,
    module_name,
    recipe_description,
    recipe_paths,
)
from tests.support.fixtures import FIXTURES

V2_CACHE = FIXTURES / "spack-upstream/mirrors/v2_layout/unsigned/build_cache"

COMPRESSION_LIBRARY = '''\
# Copyright notice of the recipe's authors.
#
# SPDX-License-Identifier: (Apache-2.0 OR MIT)

from spack.package import *


class Zlib(MakefilePackage):
    """A lossless data-compression library, free of patents, used by
    countless programs to read and write the deflate format.

    Build notes: the configure script is hand-written, so the
    usual autotools flags do not apply.
    """

    homepage = "https://zlib.example.org"
    url = "https://zlib.example.org/zlib-1.3.1.tar.gz"

    version("1.3.1", sha256="0" * 64)
    variant("shared", default=True, description="Build shared libraries")

    def install(self, spec, prefix):
        make("install")
'''

PYTHON_EXTENSION = '''\
from spack_repo.builtin.build_systems.python import PythonPackage
from spack.package import *


def _helper():
    """Not the package's docstring."""


class PyNumpy(PythonPackage):
    """Fundamental package for array computing in Python."""

    pypi = "numpy/numpy-2.0.0.tar.gz"
    version("2.0.0", sha256="1" * 64)


class _Unrelated:
    """A second class in the file."""
'''


def test_first_paragraph_on_one_line() -> None:
    assert recipe_description(COMPRESSION_LIBRARY, "zlib") == (
        "A lossless data-compression library, free of patents, used by countless programs to "
        "read and write the deflate format."
    )


def test_the_class_named_after_the_package_wins() -> None:
    assert recipe_description(PYTHON_EXTENSION, "py-numpy") == (
        "Fundamental package for array computing in Python."
    )
    # without the package name, two classes leave it ambiguous
    assert recipe_description(PYTHON_EXTENSION) is None
    # a lone class is taken even when its name does not match
    assert recipe_description(COMPRESSION_LIBRARY, "zlib-ng") is not None


@pytest.mark.parametrize(
    "text",
    [
        "class Zlib(Package:\n    '''broken'''\n",  # syntax error
        "from spack.package import *\n",  # no class
        "class Zlib(Package):\n    homepage = 'x'\n",  # no docstring
        "class Zlib(Package):\n    '''   '''\n",  # an empty one
        "class Zlib(Package):\n    f'''{homepage}'''\n",  # an f-string is not a docstring
        "\x00\x01",  # not text
        "",
    ],
)
def test_nothing_to_say_is_none(text: str) -> None:
    assert recipe_description(text, "zlib") is None


def test_the_recipe_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = (
        f"open({str(marker)!r}, 'w').write('x')\n"
        "class Evil(Package):\n"
        "    '''Looks harmless.'''\n"
        f"    open({str(marker)!r}, 'w').write('x')\n"
    )
    assert recipe_description(text, "evil") == "Looks harmless."
    assert not marker.exists()


def test_a_long_docstring_is_cut_at_a_word() -> None:
    words = " ".join(["word"] * 200)
    text = f'class Big(Package):\n    """{words}"""\n'
    found = recipe_description(text, "big")
    assert found is not None
    assert len(found) <= MAX_DESCRIPTION
    assert found.endswith("word…")


def test_deep_nesting_gives_none_not_a_crash() -> None:
    text = "class A(Package):\n    '''Doc.'''\n    x = " + "(" * 100_000 + ")" * 100_000 + "\n"
    assert recipe_description(text, "a") is None


@pytest.mark.parametrize(
    ("package", "cls", "module"),
    [
        ("zlib", "Zlib", "zlib"),
        ("py-numpy", "PyNumpy", "py_numpy"),
        ("libdemo-base", "LibdemoBase", "libdemo_base"),
        ("r-data.table", "RData.table", "r_data.table"),
        ("3proxy", "_3proxy", "_3proxy"),
        ("pass", "Pass", "_pass"),
        ("gcc-runtime", "GccRuntime", "gcc_runtime"),
        ("X11_utils", "X11Utils", "X11_utils"),
    ],
)
def test_names_follow_spacks_rules(package: str, cls: str, module: str) -> None:
    assert class_name(package) == cls
    assert module_name(package) == module


def test_paths_of_both_repository_layouts() -> None:
    v2, v1 = recipe_paths("demo-tool", "builtin")
    assert v2 == PurePosixPath(".spack/repos/spack_repo/builtin/packages/demo_tool/package.py")
    assert v1 == PurePosixPath(".spack/repos/builtin/packages/demo-tool/package.py")
    v2, v1 = recipe_paths("libelf", "builtin.mock")
    assert v2 == PurePosixPath(".spack/repos/spack_repo/builtin/mock/packages/libelf/package.py")
    assert v1 == PurePosixPath(".spack/repos/builtin.mock/packages/libelf/package.py")


def _snapshot(tarball: Path, package: str, namespace: str) -> str:
    """The recipe of ``package`` from a tarball Spack wrote, found where recipe_paths says."""
    with tarfile.open(tarball) as tar:
        names = {m.name: m for m in tar.getmembers()}
        wanted = {str(p) for p in recipe_paths(package, namespace)}
        for name, member in names.items():
            if any(name.endswith("/" + w) for w in wanted):
                data = tar.extractfile(member)
                assert data is not None
                return data.read().decode("utf-8")
    raise AssertionError(f"no snapshot of {package} in {tarball.name}")


def test_snapshots_in_tarballs_spack_wrote() -> None:
    runtime = next(V2_CACHE.rglob("*gcc-runtime-10.2.1-*.spack"))
    text = _snapshot(runtime, "gcc-runtime", "builtin.mock")
    assert recipe_description(text, "gcc-runtime") == "Package for GCC compiler runtime libraries"
    wrapper = next(V2_CACHE.rglob("*compiler-wrapper-1.0-*.spack"))
    text = _snapshot(wrapper, "compiler-wrapper", "builtin.mock")
    assert recipe_description(text, "compiler-wrapper") == "Spack compiler wrapper script."
    # a recipe without a docstring (Spack's mock libdwarf) says nothing
    dwarf = next(V2_CACHE.rglob("*test-debian6-m1-gcc-10.2.1-libdwarf-*.spack"))
    assert recipe_description(_snapshot(dwarf, "libdwarf", "builtin.mock"), "libdwarf") is None
