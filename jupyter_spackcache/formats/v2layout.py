"""The legacy ``build_cache/`` layout (layouts 1 and 2, Spack before 1.0; §1.1): its names.

File names embed arch and compiler, so locating a package needs its node, and for spec
format 5 its DAG (there the compiler is a dependency). Layout 0 (nested tarballs, Spack
<= 0.17) is recognised only to be refused with a clear reason.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..errors import LayoutError

if TYPE_CHECKING:
    from ..spec.concrete import ConcreteDAG, ConcreteNode

INDEX_PATH = "build_cache/index.json"
INDEX_HASH_PATH = "build_cache/index.json.hash"
KEY_INDEX_PATH = "build_cache/_pgp/index.json"
_UNSAFE = re.compile(r"[/\\:*?\"<>|\x00]")
_COMPILER_VIRTUALS = ("c", "cxx", "fortran")

LAYOUT0_HINT = (
    "Spack >= 1.0 cannot install these either; re-push the packages with a current Spack "
    "(`spack buildcache push`) to a new mirror"
)


def path_component(text: str) -> str:
    """Spack's format_path sanitisation of one path component (illegal characters -> '_')."""
    return _UNSAFE.sub("_", text)


def compiler_component(node: ConcreteNode, dag: ConcreteDAG) -> str:
    """``<compiler>-<version>`` in v2 file names; ``none-none`` when there is no compiler."""
    if node.compiler is not None:
        return f"{node.compiler[0]}-{node.compiler[1]}"
    for virtual in _COMPILER_VIRTUALS:
        for edge in node.edges:
            if virtual in edge.virtuals:
                dep = dag.nodes.get(edge.hash)
                if dep is not None:
                    return f"{dep.name}-{dep.version}"
    return "none-none"


def spec_basename(node: ConcreteNode, dag: ConcreteDAG) -> str:
    parts = (node.arch, compiler_component(node, dag), node.name, node.version, node.hash)
    return path_component("-".join(parts))


def tarball_path(node: ConcreteNode, dag: ConcreteDAG) -> str:
    return "/".join(
        (
            "build_cache",
            path_component(node.arch),
            path_component(compiler_component(node, dag)),
            path_component(f"{node.name}-{node.version}"),
            spec_basename(node, dag) + ".spack",
        )
    )


def spec_path(node: ConcreteNode, dag: ConcreteDAG, *, signed: bool) -> str:
    """The spec file of ``node``: ``.spec.json.sig`` when clear-signed, else ``.spec.json``."""
    return f"build_cache/{spec_basename(node, dag)}.spec.json{'.sig' if signed else ''}"


def key_path(fingerprint: str) -> str:
    return f"build_cache/_pgp/{fingerprint}.pub"


def check_entry_layout(document: dict[str, Any], what: str) -> int:
    """Layouts 1 and 2 are readable; 0 (nested tarballs) is too old, >2 too new for build_cache/."""
    layout = int(document.get("buildcache_layout_version", 0) or 0)
    if layout == 0:
        raise LayoutError(
            f"{what} uses build cache layout 0 (Spack <= 0.17, nested tarballs), which is too old",
            hint=LAYOUT0_HINT,
        )
    if layout > 2:
        raise LayoutError(
            f"{what} says build cache layout {layout}, too new for a build_cache/ tree",
            hint="upgrade jupyter-spackcache",
        )
    return layout
