"""Packaging skeleton: light package import, the status route, decorated verbs.

The walk of every route with an unauthenticated request lives in test_server_auth.py.

The server tests run a real jupyter_server (pytest-jupyter) with only this extension enabled.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

import jupyter_spackcache
from jupyter_spackcache.server import route_table

pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_spackcache": True}}}


# ------------------------------------------------------------------ the package itself


def test_import_does_not_pull_in_the_server_stack() -> None:
    """Magics import the package inside kernels, where jupyter_server may be absent."""
    probe = textwrap.dedent(
        """
        import json, sys
        import jupyter_spackcache
        heavy = {"tornado", "jupyter_server", "jupyterlab", "IPython"}
        print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert json.loads(out.stdout) == []


def test_version_matches_package_json() -> None:
    """package.json is the single version source for npm and PyPI (hatch-nodejs-version)."""
    package = json.loads((REPO / "package.json").read_text())
    assert jupyter_spackcache.__version__ == package["version"]


def test_route_table_is_below_base_url() -> None:
    paths = [path for path, _ in route_table("/a%40b/")]
    assert "/a%40b/spackcache/api/status" in paths
    assert all(path.startswith("/a%40b/spackcache/api/") for path in paths), paths


def test_load_ipython_extension_registers_magics(monkeypatch: pytest.MonkeyPatch) -> None:
    shells: list[object] = []
    fake = types.ModuleType("jupyter_spackcache.magics")
    fake.register = shells.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jupyter_spackcache.magics", fake)
    shell = object()
    jupyter_spackcache.load_ipython_extension(shell)
    assert shells == [shell]


# ------------------------------------------------------------------ the running server


async def test_status_reports_version(jp_fetch: Any) -> None:
    response = await jp_fetch("spackcache", "api", "status")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == {"version": jupyter_spackcache.__version__, "ok": True}


@pytest.mark.slow
def test_every_verb_is_decorated_authenticated(tmp_path: Path) -> None:
    """Jupyter Server's own check: it warns about verbs lacking @tornado.web.authenticated."""
    probe = textwrap.dedent(
        """
        import warnings
        from jupyter_server.serverapp import ServerApp
        from jupyter_server.utils import JupyterServerAuthWarning

        app = ServerApp(
            allow_unauthenticated_access=False,
            jpserver_extensions={"jupyter_spackcache": True},
            reraise_server_extension_failures=True,
        )
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            app.initialize(argv=[], find_extensions=False, new_httpserver=False)
        for record in records:
            if issubclass(record.category, JupyterServerAuthWarning) and (
                "jupyter_spackcache" in str(record.message) or "Extension" in str(record.message)
            ):
                print(record.message)
        print("loaded:", "jupyter_spackcache" in app.extension_manager.extensions)
        """
    )
    env = {
        "HOME": str(tmp_path),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "PATH": str(Path(sys.executable).parent),
        "PYTHONPATH": str(REPO),  # also works in a source checkout that is not installed
    }
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "loaded: True"
