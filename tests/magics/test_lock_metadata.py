"""Notebook locks kept in the notebook's metadata: restore reads them, the comm bridge offers them.

The in-process magics run against the signed demo mirror (the fixtures of ``test_magics``); the
notebook is a real ``.ipynb`` on disk, written the way JupyterLab saves ``spackcache.lock``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_spackcache.errors import ConfigError
from jupyter_spackcache.magics.line import KernelState
from jupyter_spackcache.magics.lockbridge import COMM_TARGET, LockBridge, is_saved_reply
from jupyter_spackcache.magics.lockfile import lock_in_notebook, lock_path_for
from tests.magics.test_magics import Run, demo, home, mirror, rendered, spack  # noqa: F401


def save_notebook(path: Path, metadata: dict[str, Any]) -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata.update(metadata)
    nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]


def confirmed(bridge: LockBridge) -> bool:
    return bridge.confirmed


def locked_hashes(doc: dict[str, Any]) -> set[str]:
    return {n["hash"] for n in doc["nodes"]}


def test_lock_in_notebook_reads_only_the_spackcache_key(tmp_path: Path) -> None:
    assert lock_in_notebook({"metadata": {}}, "a.ipynb") is None
    assert lock_in_notebook({"metadata": {"spackcache": {"other": 1}}}, "a.ipynb") is None
    assert lock_in_notebook([], "a.ipynb") is None
    with pytest.raises(ConfigError) as info:
        lock_in_notebook({"metadata": {"spackcache": {"lock": {"format": "x"}}}}, "a.ipynb")
    assert str(info.value) == "the metadata of a.ipynb is not a jupyter-spackcache lock"
    doc = {
        "format": "jupyter-spackcache-lock",
        "version": 1,
        "host": "linux-debian12-zen3",
        "created": 1.0,
        "mirrors": [],
        "nodes": [
            {
                "name": "zlib",
                "version": "1.3",
                "hash": "a" * 32,
                "target": "zen3",
                "mirror": None,
                "root": True,
            }
        ],
    }
    kept = lock_in_notebook({"metadata": {"spackcache": {"lock": doc}}}, "a.ipynb")
    assert kept is not None and [n.hash for n in kept.roots] == ["a" * 32]


def test_restore_prefers_the_notebooks_metadata(
    mirror: Path,  # noqa: F811
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("install", "demo-tool", "--yes")[0] == 0
    notebook = tmp_path / "analysis.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    spack("lock demo-tool")
    lock_file = lock_path_for(notebook)
    doc = json.loads(lock_file.read_text())
    # the lock file beside it is damaged: only the metadata can make the restore work
    lock_file.write_text("{")
    save_notebook(notebook, {"spackcache": {"lock": doc}})
    assert run("uninstall", "--yes", "demo-tool")[0] == 0, "setup: remove the root again"
    capsys.readouterr()

    spack("restore")
    out = capsys.readouterr().out
    assert f"restoring exactly the 3 locked build(s) from the metadata of {notebook}" in out
    installed = {r["hash"] for r in json.loads(run("find", "--json")[1])}
    assert locked_hashes(doc) <= installed

    # --file still wins over the metadata (and here names the damaged file)
    assert rendered(f"restore --file {lock_file}")[0] == f"error: {lock_file} is not valid JSON"


def test_restore_falls_back_to_the_lock_file(
    mirror: Path,  # noqa: F811
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("install", "demo-tool", "--yes")[0] == 0
    notebook = tmp_path / "plain.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    spack("lock demo-tool")
    save_notebook(notebook, {"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    capsys.readouterr()
    spack("restore --dry-run")
    assert f"from {lock_path_for(notebook)}" in capsys.readouterr().out

    save_notebook(
        notebook,
        {
            "spackcache": {
                "lock": {"format": "jupyter-spackcache-lock", "version": 1, "nodes": [{}]}
            }
        },
    )
    assert rendered("restore")[0] == (
        f"error: the metadata of {notebook} is damaged: missing or bad field 'name'"
    )
    notebook.write_text("not json")
    assert rendered("restore")[0] == f"error: {notebook} is not a valid notebook (not JSON)"


def test_lock_says_metadata_once_the_frontend_stored_one(
    mirror: Path,  # noqa: F811
    run: Run,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("install", "demo-tool", "--yes")[0] == 0
    notebook = tmp_path / "n.ipynb"
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    state = KernelState()
    capsys.readouterr()
    spack("lock demo-tool", state)
    lock_file = lock_path_for(notebook)
    assert capsys.readouterr().out.endswith(f") in {lock_file}\n")
    assert not confirmed(state.bridge)

    # what the labextension answers (outside a kernel the comm is the comm package's dummy)
    (offered,) = state.bridge._pending
    assert offered.target_name == COMM_TARGET
    offered.handle_msg({"content": {"data": {"saved": True}}})
    assert confirmed(state.bridge) and state.bridge._pending == []
    spack("lock demo-tool", state)
    assert capsys.readouterr().out.endswith(
        f") recorded in the notebook's metadata (spackcache.lock) and in {lock_file}\n"
    )


def test_bridge_reply_shapes() -> None:
    assert is_saved_reply({"content": {"data": {"saved": True}}})
    assert not is_saved_reply({"content": {"data": {"saved": False, "error": "bad"}}})
    assert not is_saved_reply({"content": {"data": {"saved": "yes"}}})
    assert not is_saved_reply({"content": None})
    bridge = LockBridge()
    bridge.offer({"format": "jupyter-spackcache-lock"})
    first = bridge._pending[0]
    bridge.offer({"format": "jupyter-spackcache-lock"})  # the unanswered offer is closed
    assert first._closed and len(bridge._pending) == 1
    bridge._pending[0].handle_msg({"content": {"data": {"saved": False}}})
    assert not bridge.confirmed and bridge._pending == []
