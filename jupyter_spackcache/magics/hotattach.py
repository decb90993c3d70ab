"""Make installed packages usable in the running kernel, without a restart.

The kernel's ``os.environ`` gets the same variables ``spackcache load`` prints (so ``!tool``
and ``subprocess`` find the tools), and ``sys.path`` gets the site-packages built for the
kernel's own Python. What cannot take effect in a running process is said plainly instead:
packages built for another Python, and modules already imported from somewhere else.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..env import EnvChange, apply, load_environment
from ..kernels import site_python, split_python_paths
from ..store.db import InstalledRecord, StoreDB

_MODULE_FILE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\..*)?\.(?:py|so|pyd)$")


@dataclass(frozen=True, slots=True)
class Attachment:
    """What attaching changes in this process, and what needs a restart (plain sentences)."""

    #: new values of the environment variables that change
    env: Mapping[str, str]
    #: directories to put at the front of ``sys.path``
    sys_path: tuple[str, ...]
    #: things that cannot take effect in this kernel, one sentence each
    notes: tuple[str, ...]


def plan_attachment(
    changes: Mapping[str, EnvChange],
    environ: Mapping[str, str],
    *,
    python: tuple[int, int],
    sys_path: Sequence[str],
    modules: Mapping[str, ModuleType],
) -> Attachment:
    """Pure: the attachment for ``changes`` in a process with this environment and Python."""
    usable, foreign = split_python_paths(
        changes["PYTHONPATH"].prepend if "PYTHONPATH" in changes else (), python
    )
    selected = dict(changes)
    if "PYTHONPATH" in selected:
        selected["PYTHONPATH"] = EnvChange("PYTHONPATH", usable)
        if not usable:
            del selected["PYTHONPATH"]
    env = {k: v for k, v in apply(selected, environ).items() if environ.get(k) != v}
    notes = [_foreign_note(d, python) for d in foreign]
    notes.extend(shadowed_modules(usable, modules))
    new_path = usable if tuple(sys_path[: len(usable)]) != usable else ()
    return Attachment(env, new_path, tuple(notes))


def _package_of(site_dir: str) -> str:
    """``name-version-hash`` prefix directory that holds a site-packages dir."""
    path = Path(site_dir)
    for parent in path.parents:
        if parent.name in {"lib", "lib64"}:
            return parent.parent.name
    return str(path)


def _foreign_note(site_dir: str, python: tuple[int, int]) -> str:
    built = site_python(site_dir)
    version = f"{built[0]}.{built[1]}" if built else "another Python"
    return (
        f"{_package_of(site_dir)} is built for Python {version} but this kernel runs "
        f"{python[0]}.{python[1]}: it cannot be imported here, even after a restart; "
        f"make a kernel with its own Python (`%spack kernel add python py-ipykernel ...`)"
    )


def top_level_names(site_dir: str) -> set[str]:
    """Importable top-level names a site-packages directory provides."""
    names: set[str] = set()
    try:
        entries = list(os.scandir(site_dir))
    except OSError:
        return names
    for entry in entries:
        if entry.is_dir() and os.path.exists(os.path.join(entry.path, "__init__.py")):
            names.add(entry.name)
            continue
        match = _MODULE_FILE.match(entry.name)
        if match and entry.is_file():
            names.add(match[1])
    return names


def shadowed_modules(site_dirs: Iterable[str], modules: Mapping[str, ModuleType]) -> list[str]:
    """Notes for modules already imported from elsewhere: the new ones need a restart."""
    notes: list[str] = []
    for site_dir in site_dirs:
        for name in sorted(top_level_names(site_dir)):
            module = modules.get(name)
            where = getattr(module, "__file__", None) if module is not None else None
            if where and not os.path.abspath(where).startswith(site_dir.rstrip("/") + "/"):
                notes.append(
                    f"module '{name}' is already imported from {os.path.dirname(where)}; "
                    f"restart the kernel to use the one from {_package_of(site_dir)}"
                )
    return notes


def apply_attachment(
    attachment: Attachment,
    environ: MutableMapping[str, str] | None = None,
    sys_path: MutableSequence[str] | None = None,
) -> None:
    """Change this process: environment variables, then the import path."""
    environ = os.environ if environ is None else environ
    sys_path = sys.path if sys_path is None else sys_path
    environ.update(attachment.env)
    for d in reversed(attachment.sys_path):
        while d in sys_path:
            sys_path.remove(d)
        sys_path.insert(0, d)
    importlib.invalidate_caches()


def attach(records: Sequence[InstalledRecord], *, store: StoreDB) -> Attachment:
    """Attach ``records`` (and their runtime dependencies) to this kernel."""
    attachment = plan_attachment(
        load_environment(records, store=store),
        os.environ,
        python=(sys.version_info[0], sys.version_info[1]),
        sys_path=sys.path,
        modules=sys.modules,
    )
    apply_attachment(attachment)
    return attachment


def describe(attachment: Attachment, names: Sequence[str]) -> str:
    """What the user can do now, and what needs more than this kernel."""
    what = ", ".join(names)
    changed = sorted(attachment.env)
    if changed or attachment.sys_path:
        lines = [
            f"{what} usable in this kernel now (no restart): updated {', '.join(changed)}"
            + (" and sys.path" if attachment.sys_path else "")
        ]
    else:
        lines = [f"{what} already usable in this kernel"]
    lines.extend(f"note: {n}" for n in attachment.notes)
    return "\n".join(lines)
