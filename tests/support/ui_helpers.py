"""A real JupyterLab for browser tests: isolated dirs, the freshly built extension, a demo mirror.

``LabServer`` starts ``jupyter lab`` as a subprocess on a free loopback port with a token, with
every Jupyter and spackcache directory under one temp root, and kills it by PID when done. The
demo mirror is built by ``spackcache demo`` and then served over HTTP by
:class:`tests.support.servers.StaticServer`, so installs go through the real HTTP transport.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.support.servers import StaticServer, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
#: the labextension build output (``jlpm build``) that the browser tests load
LABEXTENSION = REPO / "labextension"

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def skip_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (CI installs Debian's chromium; set CHROMIUM_PATH)"
    if not (LABEXTENSION / "package.json").exists():
        return "the labextension is not built: run `jlpm build` first"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def spackcache(env: Mapping[str, str], *args: str) -> str:
    """Run the CLI with ``env``; its stdout, or an AssertionError with its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_spackcache.cli", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"spackcache {' '.join(args)} failed: {done.stderr.strip()}"
    return done.stdout


def demo_mirror_over_http(root: Path, env: Mapping[str, str]) -> tuple[StaticServer, Path]:
    """Build the signed demo mirror, trust its key, and re-add it as an http:// mirror."""
    spackcache(env, "demo")
    mirror_dir = Path(env["SPACKCACHE_HOME"]) / "demo-mirror"
    server = StaticServer(mirror_dir)
    spackcache(env, "mirror", "remove", "demo")
    spackcache(env, "mirror", "add", "demo", server.url)
    return server, mirror_dir


#: the site policy of the test "site": unsigned mirrors are refused (the panel must say why)
SITE_CONFIG = "policy:\n  allow_unsigned: false\n"


def isolated_env(root: Path) -> dict[str, str]:
    """Environment with every Jupyter and spackcache directory and the site file under ``root``."""
    ext_path = root / "jupyter-path" / "labextensions"
    ext_path.mkdir(parents=True)
    # the freshly built extension shadows any (possibly stale) installed copy
    (ext_path / "jupyter-spackcache").symlink_to(LABEXTENSION, target_is_directory=True)
    settings = root / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # no "get notified about Jupyter news?" toast over the screenshots
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    site = root / "site.yaml"
    site.write_text(SITE_CONFIG)
    env = dict(os.environ)
    env.update(
        SPACKCACHE_HOME=str(root / "spackcache"),
        SPACKCACHE_SITE_CONFIG=str(site),
        HOME=str(root / "home"),
        JUPYTER_CONFIG_DIR=str(root / "jupyter-config"),
        JUPYTER_DATA_DIR=str(root / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(root / "jupyter-runtime"),
        JUPYTER_PATH=str(root / "jupyter-path"),
        JUPYTERLAB_SETTINGS_DIR=str(root / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(root / "lab-workspaces"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    (root / "home").mkdir()
    return env


class LabServer:
    """``jupyter lab`` on 127.0.0.1 with a token; ``stop()`` kills its process group."""

    def __init__(self, root: Path, env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        notebooks = root / "notebooks"
        notebooks.mkdir()
        self.log_path = root / "lab.log"
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--ServerApp.token={self.token}",
                f"--ServerApp.root_dir={notebooks}",
            ],
            env=dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def lab_url(self) -> str:
        return f"{self.url}/lab?token={self.token}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the spackcache API answers (so the server extension is loaded)."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"token {self.token}"}
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited: {self.log()[-2000:]}")
            try:
                r = httpx.get(f"{self.url}/spackcache/api/status", headers=headers, timeout=2)
                if r.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"jupyter lab did not start in {timeout}s: {self.log()[-2000:]}")

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        """A direct API call (for test setup and assertions, not for what the UI does)."""
        headers = {"Authorization": f"token {self.token}"}
        return httpx.request(
            method,
            f"{self.url}/spackcache/api/{path}",
            headers=headers,
            timeout=30,
            **kwargs,  # type: ignore[arg-type]
        )

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(5)
        self._log.close()


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


#: how long a browser test waits for anything to appear
TIMEOUT_MS = 30_000


def dismiss_toasts(page: Page) -> None:
    """Close any notification toast (news, updates) so it covers nothing."""
    for button in page.locator(".Toastify__toast .jp-Button, .Toastify__close-button").all():
        if button.is_visible():
            button.click()


@contextlib.contextmanager
def lab_in_browser(
    root: Path,
    env: Mapping[str, str],
    *,
    height: int = 720,
    path: str = "lab",
    timeout_ms: int = TIMEOUT_MS,
) -> Iterator[tuple[LabServer, Page]]:
    """JupyterLab for ``env`` and a headless Chromium page on ``path`` (``lab`` or
    ``lab/tree/NOTEBOOK``), loaded past its splash; both are stopped afterwards."""
    from playwright.sync_api import sync_playwright

    lab = LabServer(root, env)
    try:
        lab.wait_ready()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": height})
                page.set_default_timeout(timeout_ms)
                page.goto(f"{lab.url}/{path}?token={lab.token}")
                page.wait_for_selector("#jupyterlab-splash", state="detached")
                page.wait_for_selector(".jp-LabShell")
                dismiss_toasts(page)
                yield lab, page
            finally:
                browser.close()
    finally:
        lab.stop()
