"""Writing build caches: package tarballs, spec files and v3 mirrors Spack 1.x can read."""

from jupyter_spackcache.push.specjson import dag_hash, make_node, make_specfile
from jupyter_spackcache.push.tarball import create_tarball, make_buildinfo
from jupyter_spackcache.push.writer import V3MirrorWriter

__all__ = [
    "V3MirrorWriter",
    "create_tarball",
    "dag_hash",
    "make_buildinfo",
    "make_node",
    "make_specfile",
]
