"""Where a notebook keeps its lock: a file beside it, and JupyterLab's copy in its metadata.

``%spack lock`` writes ``<notebook>.spack-lock.json`` beside the notebook (the notebook comes
from ``JPY_SESSION_NAME``/``__session__``, which Jupyter sets for the kernels of its notebooks),
and JupyterLab also keeps the same document in the notebook's metadata (``spackcache.lock``,
see :mod:`.lockbridge`), so the lock travels with the ``.ipynb``. ``%spack restore`` reads the
notebook's metadata first, then the lock file. The lock itself is
:mod:`jupyter_spackcache.ops.lock`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..formats.notebook_lock import NotebookLock, lock_in_notebook
from ..ops.lock import read_lock

LOCK_SUFFIX = ".spack-lock.json"


def notebook_path(env: Mapping[str, str], user_ns: Mapping[str, Any]) -> Path | None:
    """The notebook this kernel belongs to, when Jupyter said (absolute or cwd-relative)."""
    raw = env.get("JPY_SESSION_NAME") or user_ns.get("__session__")
    if not raw or not isinstance(raw, str):
        return None
    path = Path(raw)
    if not path.is_absolute():
        path = Path.cwd() / (path if path.exists() else path.name)
    return path


def lock_path_for(notebook: Path) -> Path:
    """``analysis.ipynb`` -> ``analysis.spack-lock.json`` in the same directory."""
    return notebook.with_name(notebook.stem + LOCK_SUFFIX)


def resolve_lock_file(
    explicit: str | None, env: Mapping[str, str], user_ns: Mapping[str, Any]
) -> Path:
    if explicit:
        return Path(explicit).expanduser().absolute()
    notebook = notebook_path(env, user_ns)
    if notebook is None:
        raise ConfigError(
            "cannot tell which notebook this kernel belongs to",
            hint="name the lock file: `%spack lock --file NAME.spack-lock.json`",
        )
    return lock_path_for(notebook)


def read_notebook_lock(notebook: Path) -> NotebookLock | None:
    """The lock in ``notebook``'s metadata on disk; None when the file or the lock is missing."""
    try:
        doc = json.loads(notebook.read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        raise ConfigError(
            f"{notebook} is not a valid notebook (not JSON)", hint="pass the lock file with --file"
        ) from None
    return lock_in_notebook(doc, str(notebook))


def find_lock(
    explicit: str | None, env: Mapping[str, str], user_ns: Mapping[str, Any]
) -> tuple[NotebookLock, str]:
    """The lock to restore and where it came from: ``--file``, else the notebook's metadata,
    else the lock file beside the notebook."""
    if not explicit:
        notebook = notebook_path(env, user_ns)
        kept = read_notebook_lock(notebook) if notebook is not None else None
        if notebook is not None and kept is not None:
            return kept, f"the metadata of {notebook}"
    path = resolve_lock_file(explicit, env, user_ns)
    return read_lock(path), str(path)
