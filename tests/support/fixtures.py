"""Where the shared, Spack-written fixtures live: ``../shared/fixtures`` beside the repository.

``$SPACKCACHE_FIXTURES`` overrides it; ``/work/shared/fixtures`` is the machine-wide fallback.
These files are never modified by tests (tampering tests work on copies).
"""

from __future__ import annotations

import os
from pathlib import Path


def _find() -> Path:
    candidates = [
        os.environ.get("SPACKCACHE_FIXTURES"),
        Path(__file__).resolve().parents[3] / "shared" / "fixtures",
        "/work/shared/fixtures",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise RuntimeError("shared fixtures not found: set SPACKCACHE_FIXTURES")


FIXTURES = _find()
