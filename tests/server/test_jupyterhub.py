"""A real JupyterHub in front of the extension, as an HPC admin deploys it (issue 12).

JupyterHub from PyPI, configurable-http-proxy from npm, the default LocalProcessSpawner, two
Unix users created for the run (unique names, removed afterwards), everything on 127.0.0.1.
The site file reaches the single-user servers through ``$SPACKCACHE_SITE_CONFIG``: a layer the
tests add, which can only tighten what the system files say, so nothing is written to
/etc/spackcache (other test runs on the machine read it).

Needs root (to create users and for the spawner to switch to them); skipped otherwise.
configurable-http-proxy is looked up as ``$SPACKCACHE_CHP``, on ``PATH``, then in
``node_modules/.bin`` of the repository.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from jupyter_spackcache.demo.build import DemoMirror
from tests.support.servers import StaticServer, free_port, wait_until_up

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]


def _chp() -> str | None:
    for candidate in (
        os.environ.get("SPACKCACHE_CHP"),
        shutil.which("configurable-http-proxy"),
        str(REPO / "node_modules" / ".bin" / "configurable-http-proxy"),
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _user_python() -> list[str]:
    """An interpreter a fresh Unix user can run, seeing this test run's packages.

    The test interpreter may live where other users cannot reach (a pyenv under /root); then
    the system Python of the same version runs with this environment's site-packages.
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for exe in (sys.executable, f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if _world_runnable(Path(exe)):
            return [exe]
    pytest.skip(f"no {version} that other users can run (the test interpreter is private)")


def _world_runnable(exe: Path) -> bool:
    try:
        real = exe.resolve(strict=True)
    except OSError:
        return False
    for part in [real, *real.parents]:
        mode = part.stat().st_mode
        if not mode & (stat.S_IXOTH if part != real else stat.S_IXOTH | stat.S_IROTH):
            return False
    return True


def _pythonpath() -> str:
    """This worktree first, then every directory the test interpreter imports from."""
    paths = [str(REPO), *(p for p in sys.path if p and Path(p).is_dir() and "site-packages" in p)]
    return os.pathsep.join(dict.fromkeys(paths))


@dataclass
class Hub:
    url: str
    token: str
    users: tuple[str, str]
    homes: dict[str, Path]
    tokens: dict[str, str]
    upstream: Path
    fingerprint: str

    def api(
        self,
        user: str,
        path: str,
        *,
        as_user: str | None = None,
        method: str = "GET",
        payload: Any = None,
    ) -> httpx.Response:
        """A request to ``user``'s server, authenticated as ``as_user`` (default: the owner)."""
        token = self.tokens[as_user or user]
        return httpx.request(
            method,
            f"{self.url}/user/{user}/spackcache/api/{path}",
            headers={"Authorization": f"token {token}"},
            json=payload,
            timeout=120,
        )

    def ok(self, user: str, path: str, **kwargs: Any) -> Any:
        response = self.api(user, path, **kwargs)
        assert response.status_code < 300, (response.status_code, response.text)
        return response.json()

    def wait_task(self, user: str, task_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            task = self.ok(user, f"tasks/{task_id}")
            if task["state"] not in ("queued", "running"):
                return dict(task)
            time.sleep(0.2)
        raise AssertionError(f"task {task_id} did not finish")


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def hub(signed_demo: DemoMirror) -> Iterator[Hub]:
    if os.geteuid() != 0:
        pytest.skip("needs root: creates two Unix users and spawns servers as them")
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not available")
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        pytest.skip("jupyterhub is not installed (pip install jupyterhub)")
    chp = _chp()
    if chp is None:
        pytest.skip(
            "configurable-http-proxy not found (npm install configurable-http-proxy; "
            "or set SPACKCACHE_CHP)"
        )
    assert signed_demo.fingerprint is not None
    python = _user_python()
    base = Path(tempfile.mkdtemp(prefix="schub", dir="/tmp"))
    base.chmod(0o755)
    mirror = StaticServer(signed_demo.path)
    tag = secrets.token_hex(3)
    users = (f"sc{tag}a", f"sc{tag}b")
    created: list[str] = []
    proc: subprocess.Popen[bytes] | None = None
    try:
        upstream = _site_tree(base, mirror.url)
        site = base / "site.yaml"
        site.write_text(
            "policy: {allow_user_mirrors: false, allow_unsigned: false}\n"
            "mirrors:\n"
            f"  - {{name: centre, url: '{mirror.url}',\n"
            f"      fingerprints: [{signed_demo.fingerprint}]}}\n"
            f"upstreams: ['{upstream}']\n"
        )
        site.chmod(0o644)
        homes = {}
        for user in users:
            home = base / "home" / user
            home.parent.mkdir(exist_ok=True, mode=0o755)
            made = _run(["useradd", "-m", "-d", str(home), "-s", "/bin/sh", user])
            assert made.returncode == 0, made.stderr
            created.append(user)
            home.chmod(0o755)  # world-readable homes, as on Debian: state must still be private
            homes[user] = home
        # a user's own Jupyter config that tries to add an unsigned mirror as "site"
        sneaky = homes[users[0]] / ".jupyter" / "jupyter_server_config.json"
        sneaky.parent.mkdir()
        sneaky.write_text(
            json.dumps(
                {
                    "SpackCache": {
                        "mirrors": [{"name": "sneaky", "url": mirror.url, "unsigned": True}]
                    }
                }
            )
        )
        shutil.chown(sneaky.parent, users[0], users[0])
        shutil.chown(sneaky, users[0], users[0])

        port, api_port = free_port(), free_port()
        service_token = secrets.token_hex(16)
        config = base / "hub" / "jupyterhub_config.py"
        config.parent.mkdir(mode=0o700)
        config.write_text(
            _hub_config(
                port=port,
                api_port=api_port,
                hub_port=free_port(),
                chp=chp,
                users=users,
                token=service_token,
                cmd=[*python, "-m", "jupyterhub.singleuser"],
                environment={
                    "SPACKCACHE_SITE_CONFIG": str(site),
                    "PYTHONPATH": _pythonpath(),
                    "JUPYTER_CONFIG_PATH": str(Path(sys.prefix) / "etc" / "jupyter"),
                    "PATH": "/usr/local/bin:/usr/bin:/bin",
                },
            )
        )
        log = (base / "hub" / "hub.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=config.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PATH": f"{Path(chp).parent}{os.pathsep}{os.environ['PATH']}"},
        )
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/hub/api", timeout=60, proc=proc)
        _wait_routed(f"{url}/hub/api")  # the proxy answers 404 until the hub added its route
        admin = {"Authorization": f"token {service_token}"}
        tokens = {}
        for user in users:
            made_user = httpx.post(f"{url}/hub/api/users/{user}", headers=admin, timeout=30)
            assert made_user.status_code in (201, 409), made_user.text
            started = httpx.post(f"{url}/hub/api/users/{user}/server", headers=admin, timeout=60)
            assert started.status_code in (201, 202), started.text
            tokens[user] = httpx.post(
                f"{url}/hub/api/users/{user}/tokens",
                headers=admin,
                json={"note": "test"},
                timeout=30,
            ).json()["token"]
        for user in users:
            _wait_ready(url, user, admin, base / "hub" / "hub.log")
        yield Hub(url, service_token, users, homes, tokens, upstream, signed_demo.fingerprint)
    finally:
        if proc is not None:
            proc.terminate()  # the hub stops the users' servers on its way out
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            _stop_leftover_proxy(base / "hub" / "jupyterhub-proxy.pid")
        mirror.stop()
        for user in created:
            _run(["userdel", "-r", user])
        shutil.rmtree(base, ignore_errors=True)


def _stop_leftover_proxy(pid_file: Path) -> None:
    """The hub stops the proxy it started, except when it was itself stopped mid-start."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        pass


def _wait_routed(url: str) -> None:
    deadline = time.monotonic() + 60
    while httpx.get(url, timeout=5).status_code != 200:
        assert time.monotonic() < deadline, f"{url} never answered 200"
        time.sleep(0.1)


def _wait_ready(url: str, user: str, admin: dict[str, str], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        model = httpx.get(f"{url}/hub/api/users/{user}", headers=admin, timeout=10).json()
        server = (model.get("servers") or {}).get("")
        if server and server.get("ready"):
            return
        time.sleep(0.3)
    raise AssertionError(f"{user}'s server did not start:\n{log.read_text()[-3000:]}")


def _site_tree(base: Path, mirror_url: str) -> Path:
    """The admin builds the shared tree with spackcache and makes it an upstream."""
    root = base / "site" / "opt"
    env = {
        **os.environ,
        "SPACKCACHE_HOME": str(base / "site-home"),
        "SPACKCACHE_SITE_CONFIG": str(base / "none.yaml"),
        "PYTHONPATH": str(REPO),
    }
    for argv in (
        ["mirror", "add", "centre", mirror_url],
        ["keys", "trust", "--mirror", "centre", "--yes"],
        ["install", "--yes", "--root", str(root), "demo-tool"],  # writes .spack-db too
    ):
        done = _run([sys.executable, "-m", "jupyter_spackcache.cli", *argv], env=env)
        assert done.returncode == 0, (argv, done.stderr)
    (base / "site").chmod(0o755)
    return root


def _hub_config(
    *,
    port: int,
    api_port: int,
    hub_port: int,
    chp: str,
    users: tuple[str, ...],
    token: str,
    cmd: list[str],
    environment: dict[str, str],
) -> str:
    return f"""\
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {set(users)!r}
c.JupyterHub.services = [{{"name": "tester", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "tester",
    "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
    "services": ["tester"],
}}]
c.JupyterHub.cleanup_servers = True
c.Spawner.cmd = {cmd!r}
c.Spawner.environment = {environment!r}
c.Spawner.disable_user_config = True  # ~/.jupyter cannot re-configure the extension
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
"""


# ---- what the users get --------------------------------------------------------------------


def test_only_site_mirrors_and_a_user_mirror_is_refused(hub: Hub) -> None:
    alice = hub.users[0]
    mirrors = hub.ok(alice, "mirrors")
    # the unsigned mirror in alice's ~/.jupyter config is ignored (disable_user_config)
    assert [(m["name"], m["origin"], m["pinned_keys"]) for m in mirrors] == [
        ("centre", "site", [hub.fingerprint])
    ]
    refused = hub.api(
        alice,
        "mirrors",
        method="POST",
        payload={"name": "mine", "url": "https://example.org/cache"},
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "policy"


def test_pinned_key_is_trusted_without_asking(hub: Hub) -> None:
    bob = hub.users[1]
    plan = hub.ok(bob, "plan", method="POST", payload={"specs": ["demo-scripts"]})
    assert plan["ok"] is True  # signed metadata verified with the pinned key
    assert [k["fingerprint"] for k in hub.ok(bob, "keys")] == [hub.fingerprint]


def test_install_lands_in_home_reuses_upstream_and_again_is_a_no_op(hub: Hub) -> None:
    alice = hub.users[0]
    home = hub.homes[alice]
    plan = hub.ok(alice, "plan", method="POST", payload={"specs": ["demo-scripts"]})
    actions = {n["name"]: n["action"] for n in plan["nodes"]}
    assert actions["demo-tool"] == actions["libdemo-mid"] == "reuse"  # from the upstream
    assert actions["demo-scripts"] == "download"
    assert plan["install_root"] == str(home / ".spackcache" / "opt")

    task = hub.ok(alice, "installs", method="POST", payload={"specs": ["demo-scripts"]})
    assert hub.wait_task(alice, task["id"])["state"] == "done"
    (record,) = hub.ok(alice, "installed")
    assert record["name"] == "demo-scripts" and record["prefix"].startswith(str(home))
    owner = pwd.getpwuid(Path(record["prefix"]).stat().st_uid).pw_name
    assert owner == alice
    ran = _run(["su", alice, "-s", "/bin/sh", "-c", f"{record['prefix']}/bin/demo-hello 2"])
    assert ran.returncode == 0 and str(hub.upstream) in ran.stdout.replace("//", "/")

    again = hub.ok(alice, "plan", method="POST", payload={"specs": ["demo-scripts"]})
    assert {n["action"] for n in again["nodes"]} <= {"reuse", "external"}
    task = hub.ok(alice, "installs", method="POST", payload={"specs": ["demo-scripts"]})
    assert hub.wait_task(alice, task["id"])["state"] == "done"
    assert len(hub.ok(alice, "installed")) == 1


def test_the_other_user_can_neither_see_nor_touch_it(hub: Hub) -> None:
    alice, bob = hub.users
    state = hub.homes[alice] / ".spackcache"
    for path, method in (("installed", "GET"), ("tasks", "GET"), ("gc", "POST")):
        response = hub.api(alice, path, as_user=bob, method=method)
        assert response.status_code in (403, 404), (path, response.status_code)
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for target in (state, state / "store.sqlite", state / "tasks.sqlite"):
        peek = _run(["su", bob, "-s", "/bin/sh", "-c", f"cat {target} || ls {target}"])
        assert peek.returncode != 0, target
    assert hub.ok(bob, "installed") == []  # bob's own list does not show alice's install
