"""Writing build caches: package tarballs and v3 mirrors Spack 1.x can read.

Spec files themselves are :mod:`jupyter_spackcache.formats.specfile`.
"""

from jupyter_spackcache.push.tarball import create_tarball, make_buildinfo
from jupyter_spackcache.push.writer import V3MirrorWriter

__all__ = ["V3MirrorWriter", "create_tarball", "make_buildinfo"]
