"""The bundled demo stack: a few tiny C packages built locally into a signed v3 mirror.

It gives a fresh machine (and the test suite) a real, working mirror with no network.
"""

from jupyter_spackcache.demo.build import (
    BuiltPackage,
    DemoMirror,
    build_demo_mirror,
    build_demo_stack,
    push_packages,
)

__all__ = ["BuiltPackage", "DemoMirror", "build_demo_mirror", "build_demo_stack", "push_packages"]
