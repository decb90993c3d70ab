"""From a verified tarball to a committed prefix: extract, relocate, then (elsewhere) commit."""
