"""jupyter-lmod next to this extension, in one real Jupyter server: the user's module root is on
the server's MODULEPATH at start, so jupyter-lmod's REST API lists what was installed here, loads
it into the server (and so into new kernels), and no longer lists it after an uninstall.
GET /installed names each root's module."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.cli import main as cli
from jupyter_spackcache.demo.build import DemoMirror
from tests.server.test_server_api import wait_finished
from tests.support.modtools import LMOD_INIT

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.slow

jupyterlmod = pytest.importorskip("jupyterlmod", reason="pip install jupyterlmod")
LMOD_CMD = LMOD_INIT.parent.parent / "libexec" / "lmod"
Fetch = Callable[..., Any]


@pytest.fixture(autouse=True)
def process_env(tmp_path: Path) -> Iterator[None]:
    """The server runs in this process and module loads change ``os.environ``: restore it."""
    saved_env, saved_path = dict(os.environ), list(sys.path)
    yield
    os.environ.clear()
    os.environ.update(saved_env)
    sys.path[:] = saved_path


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, process_env: None) -> Iterator[Path]:
    if not LMOD_CMD.is_file():
        pytest.skip("Lmod is not installed (apt-get install lmod)")
    short = Path(tempfile.mkdtemp(prefix="l", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(short))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "no-site.yaml"))
    for var in ("SPACKCACHE_PLATFORM", "SPACKCACHE_OS", "SPACKCACHE_TARGET", "SPACKCACHE_LIBC",
                "SPACKCACHE_INSTALL_ROOT", "MODULEPATH", "LOADEDMODULES"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # Lmod's user cache
    monkeypatch.setenv("LMOD_CMD", str(LMOD_CMD))
    import module  # jupyter-lmod's API reads LMOD_CMD when first imported

    monkeypatch.setattr(module, "MODULE_CMD", str(LMOD_CMD))
    monkeypatch.setattr(module, "MODULE_SYSTEM", "lmod")
    monkeypatch.setattr(module, "EMPTY_LIST_STR", "No modules loaded")
    from jupyterlmod import handler

    handler.MODULE.invalidate_module_caches()
    yield short
    handler.MODULE.invalidate_module_caches()
    shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def installed(home: Path, signed_demo: DemoMirror) -> Path:
    """The demo mirror, added and trusted with the CLI before the server starts."""
    for argv in (["mirror", "add", "demo", str(signed_demo.path)],
                 ["keys", "trust", "--mirror", "demo", "--yes"]):  # fmt: skip
        assert cli(argv) == 0
    return home


@pytest.fixture
def jp_server_config(installed: Path) -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_spackcache": True, "jupyterlmod": True}}}


async def _get(jp_fetch: Fetch, *parts: str, method: str = "GET", payload: Any = None) -> Any:
    body = None if payload is None else json.dumps(payload)
    response = await jp_fetch(*parts, method=method, body=body, allow_nonstandard_methods=True)
    return json.loads(response.body) if response.body else None


async def test_jupyter_lmod_lists_and_loads_installed_stacks(
    jp_fetch: Fetch, installed: Path
) -> None:
    root = installed / "modules" / "lmod"
    assert (await _get(jp_fetch, "module", "paths"))[0] == str(root)
    # installed as the panel does: a background task of this extension
    task = await _get(jp_fetch, "spackcache", "api", "installs", method="POST",
                      payload={"specs": ["demo-tool"]})  # fmt: skip
    assert (await wait_finished(jp_fetch, task["id"]))["state"] == "done"
    assert "demo-tool/1.0.0" in await _get(jp_fetch, "module", "modules")

    records = {r["name"]: r for r in await _get(jp_fetch, "spackcache", "api", "installed")}
    assert records["demo-tool"]["module"] == "demo-tool/1.0.0"
    assert records["libdemo-base"]["module"] is None  # a dependency: no module of its own

    await _get(jp_fetch, "module", method="POST", payload={"modules": ["demo-tool"]})
    assert await _get(jp_fetch, "module") == ["demo-tool/1.0.0"]
    assert os.environ["DEMO_TOOL_ROOT"] == records["demo-tool"]["prefix"]  # new kernels get it
    assert os.environ["PATH"].startswith(records["demo-tool"]["prefix"] + "/bin:")
    await _get(jp_fetch, "module", method="DELETE", payload={"modules": ["demo-tool"]})
    assert "DEMO_TOOL_ROOT" not in os.environ

    await _get(jp_fetch, "spackcache", "api", "installed", records["demo-tool"]["hash"],
               method="DELETE")  # fmt: skip
    assert not (root / "demo-tool").exists()
    # jupyter-lmod caches `module avail` until its next use/load; a `module use` refreshes it
    await _get(jp_fetch, "module", "paths", method="POST", payload={"paths": [str(root)]})
    assert "demo-tool/1.0.0" not in await _get(jp_fetch, "module", "modules")
