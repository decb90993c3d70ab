"""Jupyter kernels for installed stacks: write, list and remove real kernelspecs.

A kernel made here bakes the stack's environment (the same computation as ``spackcache load``)
into the kernelspec's ``env``, so nothing is activated when it starts and it starts as fast as a
plain kernel. If the stack brings its own interpreter with a kernel (``python`` +
``py-ipykernel``, ``r`` + ``r-irkernel``) the kernel runs that interpreter; otherwise it runs the
Jupyter environment's Python with ipykernel, with the stack on ``PATH``.

Where kernelspecs live: the real directory is ``<jupyter data dir>/kernels/<name>`` (so every
Jupyter tool finds it), and ``$SPACKCACHE_HOME/kernels/<name>`` is a symlink to it. The server
extension adds that second directory to the kernel search path (:func:`add_kernel_dirs`), so
JupyterHub sites with ``disable_user_config`` (which hide ``~/.local/share/jupyter``) still
offer them. The kernelspec metadata records the exact DAG hashes, which is how an uninstall
finds the kernels it would break (:func:`kernels_using`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .env import EnvChange
from .errors import ConfigError
from .store.db import InstalledRecord

if TYPE_CHECKING:
    from .config import Config

#: the key under the kernelspec's ``metadata`` that marks kernels made by this project
METADATA_KEY = "spackcache"
#: the extension that kernels running the Jupyter environment's Python load at start
EXTENSION = "jupyter_spackcache"
#: Jupyter's own rule for kernel names (jupyter_client lower-cases them when listing)
_KERNEL_NAME = re.compile(r"^[a-z0-9._-]+$")
_SITE_PACKAGES = re.compile(r"/lib(?:64)?/python(\d+)\.(\d+)/site-packages/?$")


@dataclass(frozen=True, slots=True)
class Launcher:
    """How the kernel process starts and which Python's packages it can import."""

    argv: tuple[str, ...]
    language: str
    #: "stack" (the stack's own interpreter) or "jupyter" (the Jupyter environment's Python)
    interpreter: str
    #: (major, minor) of the Python that runs the kernel; None for non-Python kernels
    python: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class KernelInfo:
    """A kernel made by this project, as read back from its kernelspec."""

    name: str
    display_name: str
    path: Path
    language: str
    interpreter: str
    argv: tuple[str, ...]
    #: DAG hashes of the requested packages
    roots: tuple[str, ...]
    #: DAG hashes of everything the kernel's environment points into (roots + runtime deps)
    hashes: tuple[str, ...]


# ---- pure parts: what the kernelspec says ------------------------------------------------------


def default_name(roots: Sequence[InstalledRecord]) -> str:
    """``spack-gromacs-2023.1-abcdefg``: unique per build, valid as a Jupyter kernel name."""
    if len(roots) == 1:
        r = roots[0]
        raw = f"spack-{r.name}-{r.version}-{r.hash[:7]}"
    else:
        raw = "spack-" + "-".join(f"{r.name}-{r.hash[:7]}" for r in roots)
    return re.sub(r"[^a-z0-9._-]", "-", raw.lower())[:120]


def default_display_name(roots: Sequence[InstalledRecord]) -> str:
    """``gromacs 2023.1 (zen3)``; several roots are joined with ``+``."""
    targets = {r.node.target for r in roots}
    if len(targets) == 1:
        return " + ".join(f"{r.name} {r.version}" for r in roots) + f" ({targets.pop()})"
    return " + ".join(f"{r.name} {r.version} ({r.node.target})" for r in roots)


def validate_name(name: str) -> str:
    """The kernel name, or a one-line error saying what Jupyter accepts."""
    if not _KERNEL_NAME.fullmatch(name) or name in {".", ".."}:
        raise ConfigError(
            f"invalid kernel name '{name}'",
            hint="use lower-case letters, digits, '.', '_' and '-' only",
        )
    return name


def choose_launcher(
    records: Sequence[InstalledRecord],
    *,
    python: str = sys.executable,
    python_version: tuple[int, int] = (sys.version_info[0], sys.version_info[1]),
) -> Launcher:
    """The stack's own interpreter when it ships a kernel for it, else Jupyter's ipykernel."""
    by_name = {r.name: r for r in records}
    if "python" in by_name and "py-ipykernel" in by_name:
        exe = _first_executable(Path(by_name["python"].prefix) / "bin", ("python3", "python"))
        if exe is not None:
            version = _major_minor(by_name["python"].version)
            return Launcher(
                (str(exe), "-m", "ipykernel_launcher", "-f", "{connection_file}"),
                "python",
                "stack",
                version,
            )
    if "r" in by_name and "r-irkernel" in by_name:
        exe = _first_executable(Path(by_name["r"].prefix) / "bin", ("R",))
        if exe is not None:
            argv = (str(exe), "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}")
            return Launcher(argv, "R", "stack", None)
    argv = (python, "-m", "ipykernel_launcher", "-f", "{connection_file}", f"--ext={EXTENSION}")
    return Launcher(argv, "python", "jupyter", python_version)


def _first_executable(bindir: Path, names: Iterable[str]) -> Path | None:
    for name in names:
        path = bindir / name
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"(\d+)\.(\d+)", version)
    return (int(match[1]), int(match[2])) if match else None


def site_python(path: str) -> tuple[int, int] | None:
    """The Python version a ``.../lib/pythonX.Y/site-packages`` directory is for."""
    match = _SITE_PACKAGES.search(path)
    return (int(match[1]), int(match[2])) if match else None


def split_python_paths(
    dirs: Iterable[str], python: tuple[int, int] | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(usable, foreign): site-packages built for ``python``, and those built for another one."""
    usable: list[str] = []
    foreign: list[str] = []
    for d in dirs:
        (usable if python is not None and site_python(d) in (python, None) else foreign).append(d)
    return tuple(usable), tuple(foreign)


def kernel_env(changes: Mapping[str, EnvChange], python: tuple[int, int] | None) -> dict[str, str]:
    """The kernelspec ``env``: the stack's directories in front of the server's values.

    jupyter_client expands ``${VAR}`` from the server's environment but leaves unknown
    variables as literal text, so only ``PATH`` (always set) inherits; ``MANPATH`` ends in ``:``
    to keep man's default path; the rest are the stack's directories alone. ``PYTHONPATH`` keeps
    only site-packages built for the kernel's Python: others would break its imports.
    """
    env: dict[str, str] = {}
    for name, change in changes.items():
        dirs = change.prepend
        if name == "PYTHONPATH":
            dirs = split_python_paths(dirs, python)[0]
        if not dirs:
            continue
        value = ":".join(dirs)
        if name == "PATH":
            value += ":${PATH}"
        elif name == "MANPATH":
            value += ":"
        env[name] = value
    return env


def kernel_spec(
    roots: Sequence[InstalledRecord],
    records: Sequence[InstalledRecord],
    launcher: Launcher,
    env: Mapping[str, str],
    *,
    display_name: str,
) -> dict[str, Any]:
    """The ``kernel.json`` document; ``records`` is the roots' runtime closure."""
    metadata: dict[str, Any] = {
        METADATA_KEY: {
            "version": 1,
            "interpreter": launcher.interpreter,
            "roots": [
                {"name": r.name, "version": r.version, "hash": r.hash, "target": r.node.target}
                for r in roots
            ],
            "hashes": sorted({r.hash for r in records}),
        }
    }
    if launcher.interpreter == "jupyter":
        metadata["debugger"] = True
    return {
        "argv": list(launcher.argv),
        "display_name": display_name,
        "language": launcher.language,
        "interrupt_mode": "signal",
        "env": dict(env),
        "metadata": metadata,
    }


def info_from_spec(path: Path, doc: Mapping[str, Any]) -> KernelInfo | None:
    """A :class:`KernelInfo` for a kernelspec this project made, else None."""
    meta = (doc.get("metadata") or {}).get(METADATA_KEY)
    if not isinstance(meta, dict):
        return None
    return KernelInfo(
        name=path.name.lower(),
        display_name=str(doc.get("display_name", path.name)),
        path=path,
        language=str(doc.get("language", "")),
        interpreter=str(meta.get("interpreter", "")),
        argv=tuple(str(a) for a in doc.get("argv", ())),
        roots=tuple(str(r.get("hash", "")) for r in meta.get("roots", ())),
        hashes=tuple(str(h) for h in meta.get("hashes", ())),
    )


# ---- where kernelspecs live --------------------------------------------------------------------


def user_kernel_dir() -> Path:
    """``<jupyter data dir>/kernels`` (honours ``$JUPYTER_DATA_DIR``)."""
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "kernels"


def kernel_dirs(config: Config) -> list[Path]:
    """Kernel directories the server must search in addition to Jupyter's own.

    ``$SPACKCACHE_HOME/kernels`` holds a link to every kernel made here, so a server whose
    user data directory is hidden (JupyterHub's ``disable_user_config``) still finds them.
    """
    return [config.home / "kernels"]


def add_kernel_dirs(kernel_spec_manager: Any, config: Config) -> list[Path]:
    """Append :func:`kernel_dirs` to a KernelSpecManager's search path; returns those added.

    The server extension calls this once at start: ``add_kernel_dirs(
    serverapp.kernel_spec_manager, config)``. Jupyter's own directories keep precedence.
    """
    current = [str(d) for d in kernel_spec_manager.kernel_dirs]
    added: list[Path] = []
    for d in kernel_dirs(config):
        d.mkdir(parents=True, exist_ok=True)
        if str(d) not in current:
            kernel_spec_manager.kernel_dirs.append(str(d))
            added.append(d)
    return added


def _read_spec(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((path / "kernel.json").read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def list_kernels(config: Config) -> list[KernelInfo]:
    """Kernels made by this project, by name (the user data dir wins over the link dir)."""
    found: dict[str, KernelInfo] = {}
    for base in (user_kernel_dir(), *kernel_dirs(config)):
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            doc = _read_spec(entry)
            info = info_from_spec(entry, doc) if doc is not None else None
            if info is not None and info.name not in found:
                found[info.name] = info
    return sorted(found.values(), key=lambda k: k.name)


def kernels_using(hashes: Iterable[str], config: Config) -> list[KernelInfo]:
    """Kernels whose environment points into any of ``hashes`` (they break if those go)."""
    wanted = set(hashes)
    return [k for k in list_kernels(config) if wanted.intersection(k.hashes)]


def find_kernel(name: str, config: Config) -> KernelInfo | None:
    for k in list_kernels(config):
        if k.name == name.lower():
            return k
    return None


def write_kernel(name: str, doc: Mapping[str, Any], config: Config) -> KernelInfo:
    """Write (or replace our own) kernelspec ``name`` atomically, and link it for the server."""
    validate_name(name)
    base = user_kernel_dir()
    dest = base / name
    if dest.exists() and find_kernel(name, config) is None:
        raise ConfigError(
            f"a kernel named '{name}' already exists and was not made by spackcache",
            hint="choose another name with --name",
        )
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=base))
    try:
        (staging / "kernel.json").write_text(json.dumps(doc, indent=1) + "\n")
        staging.chmod(0o755)
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for links in kernel_dirs(config):
        links.mkdir(parents=True, exist_ok=True)
        link = links / name
        if link.is_symlink() or link.exists():
            _remove_path(link)
        link.symlink_to(dest, target_is_directory=True)
    info = info_from_spec(dest, doc)
    assert info is not None
    return info


def remove_kernel(name: str, config: Config) -> KernelInfo:
    """Remove a kernel made by this project (its kernelspec and its link)."""
    info = find_kernel(name, config)
    if info is None:
        if (user_kernel_dir() / name).exists():
            raise ConfigError(
                f"kernel '{name}' was not made by spackcache; it is left alone",
                hint=f"remove it with `jupyter kernelspec remove {name}`",
            )
        raise ConfigError(
            f"no kernel named '{name}'",
            hint="see `spackcache kernel list` for the kernels made here",
        )
    for base in (user_kernel_dir(), *kernel_dirs(config)):
        path = base / info.name
        if path.is_symlink() or path.exists():
            _remove_path(path)
    return info


def _remove_path(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    else:
        shutil.rmtree(path)
