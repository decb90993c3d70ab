"""``%spack lock`` in a notebook open in a real JupyterLab: the lock lands in the saved .ipynb.

A real Lab (with the freshly built extension) and headless Chromium run a notebook that loads
the magics, installs ``demo-tool`` from the demo mirror served over HTTP and locks it; once
saved, the file on disk must hold ``metadata.spackcache.lock`` with the exact hashes. A lock
typed into a new cell afterwards reports the metadata, because the kernel has by then handled
the frontend's answer to the first one.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.support.ui_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LabServer,
    demo_mirror_over_http,
    isolated_env,
    remove_tree,
    skip_reason,
    spackcache,
)

_SKIP = skip_reason()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")

TIMEOUT_MS = 60_000
CELLS = ("%load_ext jupyter_spackcache", "%spack install demo-tool", "%spack lock")


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [nbformat.v4.new_code_cell(s) for s in CELLS]  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]


def saved_metadata(path: Path, timeout: float = 15.0) -> dict[str, Any]:
    """The notebook's metadata once a save has written ``spackcache`` into it."""
    deadline = time.monotonic() + timeout
    metadata: dict[str, Any] = {}
    while time.monotonic() < deadline:
        metadata = json.loads(path.read_text()).get("metadata", {})
        if "spackcache" in metadata:
            break
        time.sleep(0.2)
    return metadata


def test_lock_is_saved_in_the_notebook_metadata(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="uil", dir="/tmp"))  # short: GnuPG socket paths
    env = isolated_env(root)
    server, _ = demo_mirror_over_http(root, env)
    lab = LabServer(root, env)
    notebook = root / "notebooks" / "locked.ipynb"
    write_notebook(notebook)
    try:
        lab.wait_ready()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                page.goto(f"{lab.url}/lab/tree/{notebook.name}?token={lab.token}")
                page.wait_for_selector("#jupyterlab-splash", state="detached")
                cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
                cells.nth(len(CELLS) - 1).wait_for()
                # the kernel is connected and idle (the status bar says so), so Run All runs
                page.locator(".jp-StatusBar-Widget").filter(
                    has_text="Python 3 (ipykernel) | Idle"
                ).first.wait_for()

                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.locator(".lm-Menu-itemLabel").filter(has_text="Run All Cells").first.click()
                first = cells.nth(2).locator(".jp-OutputArea-output")
                first.filter(has_text="locked 3 build(s)").wait_for()
                first_text = first.inner_text()

                cells.nth(2).locator(".jp-InputPrompt").click()  # command mode, then save
                page.keyboard.press("Control+s")
                metadata = saved_metadata(notebook)

                # the frontend's answer reached the kernel: a new lock says where it went
                page.keyboard.press("b")  # a new cell below, then edit mode
                page.keyboard.press("Enter")
                page.keyboard.type("%spack lock")
                page.keyboard.press("Shift+Enter")
                second = cells.nth(3).locator(".jp-OutputArea-output")
                second.filter(has_text="recorded in").wait_for()
                second_text = second.inner_text()
            except Exception:
                page.screenshot(path=str(tmp_path / "failure.png"))  # for the failure report
                raise
            finally:
                browser.close()
    finally:
        log = lab.log()
        lab.stop()
        server.stop()
        lock_file = notebook.with_name("locked.spack-lock.json")
        file_doc = json.loads(lock_file.read_text()) if lock_file.exists() else None
        installed = json.loads(spackcache(env, "find", "--json"))
        remove_tree(root)

    assert file_doc is not None, log[-2000:]
    assert first_text.rstrip().endswith(f"in {lock_file}"), first_text
    assert second_text.rstrip().endswith(
        f"recorded in the notebook's metadata (spackcache.lock) and in {lock_file}"
    ), second_text
    assert "spackcache" in metadata, f"not saved: {sorted(metadata)}"
    lock = metadata["spackcache"]["lock"]
    hashes = {r["name"]: r["hash"] for r in installed}
    assert {n["name"]: n["hash"] for n in lock["nodes"]} == hashes  # the exact DAG hashes
    assert len(hashes) == 3
    assert [n["name"] for n in lock["nodes"] if n["root"]] == ["demo-tool"]
    assert lock["mirrors"] == file_doc["mirrors"] and lock["mirrors"][0]["name"] == "demo"
    assert lock["format"] == "jupyter-spackcache-lock" and lock["version"] == 1
