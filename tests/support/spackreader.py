"""Read a ``spack.lock`` with Spack's own code: Spack v1.1.0 unpacked from the mirrored repository.

Nothing of Spack is committed here: :func:`unpack_spack` extracts ``lib/spack`` (and the default
config) of the tag from the bare git mirror into a temporary directory, and :func:`spack_reads`
runs, in a child process with a private HOME, what ``spack env create NAME FILE`` does
(``initialize_environment_dir``) and then opens the environment as ``spack -e NAME`` does. It
reports every concrete root and, for every node Spack built from the file, its DAG hash and its
dependencies, so a test can compare them with our own reader.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

#: a bare clone of Spack's repository (``SPACKCACHE_TEST_SPACK_GIT`` points elsewhere)
SPACK_GIT = Path(os.environ.get("SPACKCACHE_TEST_SPACK_GIT", "/work/.mirror/vjranagit+spack/repo"))
SPACK_TAG = "v1.1.0"

_SCRIPT = r"""
import json, os, sys
sys.path[:0] = [os.path.join(sys.argv[1], "lib", "spack")]
import spack.main  # noqa: F401  (sets Spack up as its command line does)
import spack.environment as ev
lockfile, envdir = sys.argv[2], sys.argv[3]
ev.initialize_environment_dir(envdir, lockfile)
env = ev.Environment(envdir)
nodes = {}
for root in env.concrete_roots():
    for s in root.traverse(deptype="all"):
        nodes[s.dag_hash()] = {
            "name": s.name,
            "version": str(s.version),
            "deps": sorted(d.dag_hash() for d in s.dependencies()),
            "concrete": s.concrete,
        }
with open(os.path.join(envdir, "spack.yaml")) as f:
    manifest = f.read()
print(json.dumps({
    "version": env._read_lockfile(open(lockfile))["_meta"]["lockfile-version"],
    "roots": [s.dag_hash() for s in env.concrete_roots()],
    "user_specs": [str(s) for s in env.concretized_user_specs],
    "nodes": nodes,
    "manifest": manifest,
}))
"""


def spack_available() -> str | None:
    """Why Spack's code cannot be used here, or None when it can."""
    if not (SPACK_GIT / "HEAD").exists():
        return f"Spack's repository is not mirrored at {SPACK_GIT}"
    probe = subprocess.run(
        ["git", "-C", str(SPACK_GIT), "rev-parse", "--verify", "-q", f"{SPACK_TAG}^{{commit}}"],
        capture_output=True,
    )
    if probe.returncode != 0:
        return f"the mirrored Spack repository has no tag {SPACK_TAG}"
    return None


def unpack_spack(dest: Path) -> Path:
    """Extract Spack's Python library and default config into ``dest``; returns ``dest``."""
    archive = subprocess.run(
        [
            "git",
            "-C",
            str(SPACK_GIT),
            "archive",
            "--format=tar",
            SPACK_TAG,
            "lib/spack/spack",
            "lib/spack/llnl",
            "lib/spack/_vendoring",
            "etc/spack/defaults",
            ":!lib/spack/spack/test",
        ],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(dest, filter="data")
        else:  # our own git's archive of a tag: nothing to guard against
            tar.extractall(dest)
    return dest


def spack_reads(spack_root: Path, lockfile: Path, work: Path) -> dict[str, Any]:
    """What Spack makes of ``lockfile`` (see the module docstring); raises with Spack's own
    traceback when it refuses the file."""
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "SPACK_DISABLE_LOCAL_CONFIG": "1",
        "SPACK_USER_CACHE_PATH": str(work / "cache"),
        "SPACK_USER_CONFIG_PATH": str(work / "config"),
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(spack_root), str(lockfile), str(work / "env")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(f"Spack refused {lockfile}:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
