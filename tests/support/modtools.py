"""Real module systems for tests: Debian's Lmod, and Tcl Environment Modules unpacked aside.

``environment-modules`` conflicts with ``lmod`` as a Debian package, so its ``.deb`` is unpacked
into a cache directory (``scripts/fetch-environment-modules.sh``) and its ``modulecmd.tcl`` run
with ``tclsh``. Each shell is a clean login-like ``bash --noprofile --norc`` with a minimal
environment, as a batch job would have.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LMOD_INIT = Path("/usr/share/lmod/lmod/init/bash")


def envmodules_dir() -> Path:
    default = Path.home() / ".cache" / "jupyter-spackcache" / "environment-modules"
    return Path(os.environ.get("SPACKCACHE_ENVMODULES") or default)


def find_modulecmd_tcl() -> Path | None:
    """Environment Modules' ``modulecmd.tcl``: installed, unpacked already, or unpacked now."""
    for found in (Path("/usr/lib/x86_64-linux-gnu/modulecmd.tcl"), Path("/usr/lib/modulecmd.tcl")):
        if found.is_file():
            return found
    dest = envmodules_dir()
    if not list(dest.glob("usr/lib/*/modulecmd.tcl")) and shutil.which("apt-get"):
        subprocess.run(
            ["bash", str(REPO / "scripts" / "fetch-environment-modules.sh"), str(dest)],
            capture_output=True, check=False, timeout=300,
        )  # fmt: skip
    hits = sorted(dest.glob("usr/lib/*/modulecmd.tcl"))
    return hits[0] if hits else None


def module_init(system: str) -> str | None:
    """Shell lines defining ``module`` for ``system`` ("lmod", "tcl"); None when unavailable."""
    if system == "lmod":
        return f"source {LMOD_INIT}" if LMOD_INIT.is_file() else None
    tclsh = shutil.which("tclsh")
    cmd = find_modulecmd_tcl()
    if tclsh is None or cmd is None:
        return None
    return f'module() {{ eval "$({tclsh} {cmd} bash "$@")"; }}'


def clean_shell(script: str, *, home: Path, extra_env: dict[str, str] | None = None) -> str:
    """Run ``script`` in ``bash --noprofile --norc`` with a minimal environment; its stdout."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TERM": "dumb"}
    env.update(extra_env or {})
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "set -e\n" + script],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (
        f"shell failed:\n{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout
