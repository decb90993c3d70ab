"""Spack spec values: versions, abstract specs and their syntax, concrete DAGs, matching.

Pure Python and free of I/O: everything here takes and returns values, so the resolver, the
CLI and the server share one definition of what ``gromacs@2023 +mpi ^openmpi`` means.
"""

from jupyter_spackcache.spec.abstract import ANY_VALUE, FLAG_NAMES, AbstractSpec
from jupyter_spackcache.spec.algebra import constrain, intersects
from jupyter_spackcache.spec.algebra import satisfies as abstract_satisfies
from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode, Edge, VariantValue
from jupyter_spackcache.spec.parser import join_argv, parse_spec, parse_specs
from jupyter_spackcache.spec.satisfies import (
    explain_dag_mismatch,
    explain_mismatch,
    node_satisfies,
    satisfies,
    target_matches,
)
from jupyter_spackcache.spec.version import (
    Version,
    VersionConstraint,
    VersionError,
    VersionRange,
)

__all__ = [
    "ANY_VALUE",
    "FLAG_NAMES",
    "AbstractSpec",
    "ConcreteDAG",
    "ConcreteNode",
    "Edge",
    "VariantValue",
    "Version",
    "VersionConstraint",
    "VersionError",
    "VersionRange",
    "abstract_satisfies",
    "constrain",
    "explain_dag_mismatch",
    "explain_mismatch",
    "intersects",
    "join_argv",
    "node_satisfies",
    "parse_spec",
    "parse_specs",
    "satisfies",
    "target_matches",
]
