"""The REST API against a real Jupyter server and the real signed demo mirror over HTTP.

One user journey (mirror, keys, list, plan, install with streamed progress, uninstall, gc),
cancellation mid-download, a server restart mid-install, site policy, and bad input.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.serverapp import ServerApp
from tornado.httpclient import HTTPClientError, HTTPResponse

from jupyter_spackcache.demo import broken
from jupyter_spackcache.demo.build import DemoMirror
from tests.support.openapi import check_response, check_schema
from tests.support.servers import StaticServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

PACKAGES = ("libdemo-base", "libdemo-mid", "demo-tool")
NORMAL_PATH = ("queued", "download", "verify", "extract", "unpacked", "relocate", "done")
Fetch = Callable[..., Any]
#: the schema in docs/openapi.yaml of each kind of server-sent event
EVENT_SCHEMAS = {"task": "TaskEvent", "progress": "ProgressEvent", "changed": "ChangedEvent"}


# ------------------------------------------------------------------ fixtures


@pytest.fixture
def jp_fetch(jp_fetch: Fetch) -> Fetch:
    """The server's fetch, checking every JSON answer of the API against docs/openapi.yaml."""

    async def fetch(*parts: str, method: str = "GET", **kwargs: Any) -> HTTPResponse:
        try:
            response: HTTPResponse = await jp_fetch(*parts, method=method, **kwargs)
        except HTTPClientError as failure:
            if failure.response is not None:
                documented(parts, method, failure.response)
            raise
        documented(parts, method, response)
        return response

    return fetch


def documented(parts: tuple[str, ...], method: str, response: HTTPResponse) -> None:
    if parts[:2] != ("spackcache", "api") or not response.body:
        return  # Jupyter's own routes, or a stream read through its callback
    path = "/" + "/".join(parts[2:])
    check_response(method, path, response.code, json.loads(response.body))


@pytest.fixture
def demo(signed_demo: DemoMirror) -> DemoMirror:
    return signed_demo


@pytest.fixture
def spack_site() -> dict[str, Any]:
    """``c.SpackCache`` settings; tests parametrize this to play the JupyterHub admin."""
    return {}


@pytest.fixture
def jp_server_config(spack_site: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_spackcache": True}},
        "SpackCache": spack_site,
    }


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Per-test state dir; short, because GnuPG sockets live under it."""
    short = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(short))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "no-site.yaml"))
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(tmp_path / "opt"))
    yield short
    shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def served(demo: DemoMirror, http_mirror: Callable[[Path], StaticServer]) -> StaticServer:
    return http_mirror(demo.path)


# ------------------------------------------------------------------ helpers


def body(response: HTTPResponse) -> Any:
    return json.loads(response.body)


async def api(
    jp_fetch: Fetch, *parts: str, method: str = "GET", payload: Any = None, **kwargs: Any
) -> Any:
    data = None if payload is None else json.dumps(payload)
    response = await jp_fetch(
        "spackcache",
        "api",
        *parts,
        method=method,
        body=data,
        allow_nonstandard_methods=True,
        **kwargs,
    )
    return body(response)


async def refused(
    jp_fetch: Fetch, *parts: str, method: str = "GET", payload: Any = None, **kwargs: Any
) -> tuple[int, dict[str, Any]]:
    with pytest.raises(HTTPClientError) as failure:
        await api(jp_fetch, *parts, method=method, payload=payload, **kwargs)
    response = failure.value.response
    assert response is not None
    return failure.value.code, body(response)["error"]


async def add_trusted_mirror(jp_fetch: Fetch, url: str, fingerprint: str) -> None:
    added = await api(jp_fetch, "mirrors", method="POST", payload={"name": "demo", "url": url})
    assert added["name"] == "demo" and added["signed"] is True
    preview = await api(
        jp_fetch, "keys", "trust", method="POST", payload={"mirror": "demo", "preview": True}
    )
    assert [k["fingerprint"] for k in preview["keys"]] == [fingerprint]
    assert preview["keys"][0]["trusted"] is False
    assert await api(jp_fetch, "keys") == []  # preview imported nothing
    await api(
        jp_fetch,
        "keys",
        "trust",
        method="POST",
        payload={"mirror": "demo", "fingerprints": [fingerprint]},
    )


def parse_sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.decode().split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            data = json.loads(fields["data"])
            check_schema(EVENT_SCHEMAS[fields["event"]], data)
            events.append((fields["event"], data))
    return events


async def stream(jp_fetch: Fetch, task_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every event of the task, through the SSE endpoint (returns when the task ends)."""
    chunks: list[bytes] = []
    await jp_fetch(
        "spackcache",
        "api",
        "events",
        params={"task": task_id},
        streaming_callback=chunks.append,
        request_timeout=120,
    )
    return parse_sse(b"".join(chunks))


def tree(root: Path) -> list[str]:
    """Every path under ``root`` with its size: the install tree's observable state.

    The installer's own bookkeeping may persist (lock files, verified tarballs kept for the
    next attempt); anything else, including half-work left in staging, is listed.
    """
    if not root.exists():
        return []
    private = root / ".spackcache"
    kept = (private / "locks", private / "staging" / "downloads")
    return sorted(
        f"{p.relative_to(root)}:{p.lstat().st_size if p.is_file() else '-'}"
        for p in root.rglob("*")
        if p not in {private, private / "staging", *kept} and not any(k in p.parents for k in kept)
    )


# ------------------------------------------------------------------ the user journey


async def test_list_plan_install_with_progress_uninstall(
    jp_fetch: Fetch, demo: DemoMirror, served: StaticServer, tmp_path: Path
) -> None:
    assert demo.fingerprint is not None
    await add_trusted_mirror(jp_fetch, served.url, demo.fingerprint)

    listing = await api(jp_fetch, "specs", params={"q": "demo-tool"})
    assert [g["name"] for g in listing["items"]] == ["demo-tool"]
    group = listing["items"][0]
    assert group["versions"] and group["targets"] and group["builds"][0]["mirror"] == "demo"
    everything = await api(jp_fetch, "specs", params={"per_page": "2", "page": "2"})
    assert everything["total"] == 4 and everything["pages"] == 2
    assert [g["name"] for g in everything["items"]] == ["libdemo-base", "libdemo-mid"]

    root_hash = group["builds"][0]["hash"]
    dag = await api(jp_fetch, "specs", root_hash[:10])
    assert dag["root"]["hash"] == root_hash and dag["compatible"] is True
    assert {n["name"] for n in dag["nodes"]} >= set(PACKAGES)
    sizes = {n["name"]: n["size"] for n in dag["nodes"]}
    assert all(sizes[name] > 0 for name in PACKAGES) and sizes["glibc"] is None  # verified
    assert dag["download_bytes"] == sum(sizes[name] for name in PACKAGES)

    plan = await api(jp_fetch, "plan", method="POST", payload={"specs": ["demo-tool"]})
    actions = {n["name"]: n["action"] for n in plan["nodes"]}
    assert all(actions[p] == "download" for p in PACKAGES)
    assert plan["ok"] is True and plan["download_bytes"] > 0
    assert plan["install_root"] == str(tmp_path / "opt")
    assert tree(tmp_path / "opt") == []  # planning installs nothing

    response = await jp_fetch(
        "spackcache",
        "api",
        "installs",
        method="POST",
        body=json.dumps({"specs": ["demo-tool"], "kernel": True}),
    )
    assert response.code == 202
    task_id = body(response)["id"]
    assert response.headers["Location"] == f"/a%40b/spackcache/api/tasks/{task_id}"

    events = await stream(jp_fetch, task_id)
    states = [data["state"] for kind, data in events if kind == "task"]
    assert states == ["queued", "running", "done"]
    assert events[-1][0] == "task"  # the stream ends with the task
    stages: dict[str, list[str]] = {}
    for kind, data in events:
        if kind == "progress" and data["hash"]:
            seen = stages.setdefault(data["name"], [])
            if not seen or seen[-1] != data["stage"]:
                seen.append(data["stage"])
    for name in PACKAGES:  # each node walks the normal path forwards, and reaches its end
        walk = stages[name]
        assert walk == sorted(walk, key=NORMAL_PATH.index), (name, walk)
        assert walk[-1] == "done" and "download" in walk and "unpacked" in walk

    task = await api(jp_fetch, "tasks", task_id)
    assert task["state"] == "done" and task["error"] is None
    assert {n["name"]: n["stage"] for n in task["nodes"]}["demo-tool"] == "done"
    assert task["bytes_done"] == plan["download_bytes"]
    assert any("demo-tool" in line and "done" in line for line in task["log"])
    assert [t["id"] for t in await api(jp_fetch, "tasks")] == [task_id]
    kernels = body(await jp_fetch("api", "kernelspecs"))["kernelspecs"]
    [kernel] = [k for k in kernels if k.startswith("spack-demo-tool")]
    assert f"kernel '{kernel}' ready" in task["log"]

    installed = {r["name"]: r for r in await api(jp_fetch, "installed")}
    assert set(installed) >= set(PACKAGES)
    assert installed["demo-tool"]["explicit"] and not installed["libdemo-base"]["explicit"]
    tool = Path(installed["demo-tool"]["prefix"]) / "bin" / "demo-tool"
    assert tool.is_file() and os.access(tool, os.X_OK)

    base_hash = installed["libdemo-base"]["hash"]
    code, error = await refused(jp_fetch, "installed", base_hash, method="DELETE")
    assert code == 409 and error["message"].startswith("cannot uninstall libdemo-base@")
    assert "needed by libdemo-mid@" in error["message"]
    assert Path(installed["libdemo-base"]["prefix"]).is_dir()  # refused: nothing removed

    removed = await api(jp_fetch, "installed", installed["demo-tool"]["hash"], method="DELETE")
    assert [r["name"] for r in removed["removed"]] == ["demo-tool"]
    assert not tool.exists()
    collected = await api(jp_fetch, "gc", method="POST", payload={})
    assert {r["name"] for r in collected["removed"]} >= {"libdemo-base", "libdemo-mid"}
    assert await api(jp_fetch, "installed") == []


# ------------------------------------------------------------------ cancellation, restart


def delay_tarballs(server: StaticServer, mirror: Path, seconds: float) -> None:
    for name in PACKAGES:
        blob = broken.blob_path(mirror, name)
        server.fault(str(blob.relative_to(mirror)), delay=seconds)


async def first_download(jp_fetch: Fetch, task_id: str) -> None:
    """Wait (through the event stream) until a tarball download has started."""
    chunks: list[bytes] = []

    def take(chunk: bytes) -> None:
        chunks.append(chunk)
        if any(
            kind == "progress" and data["stage"] == "download"
            for kind, data in parse_sse(b"".join(chunks))
        ):
            raise _Seen

    with pytest.raises(HTTPClientError) as stopped:  # the client hangs up once it has seen it
        await jp_fetch(
            "spackcache",
            "api",
            "events",
            params={"task": task_id},
            streaming_callback=take,
            request_timeout=60,
        )
    assert isinstance(stopped.value.__context__, _Seen) or stopped.value.code == 599


class _Seen(Exception):
    pass


async def wait_finished(jp_fetch: Fetch, task_id: str) -> dict[str, Any]:
    await stream(jp_fetch, task_id)
    task: dict[str, Any] = await api(jp_fetch, "tasks", task_id)
    return task


async def test_cancel_mid_download_leaves_the_tree_unchanged(
    jp_fetch: Fetch, demo: DemoMirror, served: StaticServer, tmp_path: Path
) -> None:
    assert demo.fingerprint is not None
    await add_trusted_mirror(jp_fetch, served.url, demo.fingerprint)
    root = tmp_path / "opt"
    before = tree(root)
    delay_tarballs(served, demo.path, 1.5)
    task = await api(jp_fetch, "installs", method="POST", payload={"specs": ["demo-tool"]})
    await first_download(jp_fetch, task["id"])

    # the install runs on its own thread: the server and the query thread stay responsive
    started = time.perf_counter()
    await jp_fetch("api", "status")
    listing = await api(jp_fetch, "specs", params={"q": "libdemo-base"})
    assert time.perf_counter() - started < 0.5
    assert [g["name"] for g in listing["items"]] == ["libdemo-base"]
    assert (await api(jp_fetch, "tasks", task["id"]))["state"] == "running"

    response = await jp_fetch("spackcache", "api", "tasks", task["id"], method="DELETE")
    assert response.code in {200, 202}
    done = await wait_finished(jp_fetch, task["id"])
    assert done["state"] == "cancelled"
    assert done["error"]["code"] == "cancelled"
    assert tree(root) == before
    assert await api(jp_fetch, "installed") == []


async def test_restart_keeps_history_and_interrupts_the_running_install(
    jp_fetch: Fetch,
    jp_serverapp: ServerApp,
    jp_configurable_serverapp: Callable[..., ServerApp],
    demo: DemoMirror,
    served: StaticServer,
    tmp_path: Path,
) -> None:
    assert demo.fingerprint is not None
    await add_trusted_mirror(jp_fetch, served.url, demo.fingerprint)
    failed = await api(jp_fetch, "installs", method="POST", payload={"specs": ["no-such-pkg"]})
    failed = await wait_finished(jp_fetch, failed["id"])
    assert failed["state"] == "failed" and failed["error"]["code"] == "resolve"
    assert failed["error"]["message"].startswith("nothing installable matches 'no-such-pkg'")

    delay_tarballs(served, demo.path, 1.5)
    running = await api(jp_fetch, "installs", method="POST", payload={"specs": ["demo-tool"]})
    await first_download(jp_fetch, running["id"])
    await jp_serverapp._cleanup()  # stops the extension: the install is rolled back
    ServerApp.clear_instance()

    again = jp_configurable_serverapp()  # a new server on the same state dir
    state = again.web_app.settings["spackcache"]
    history = {t.id: t for t in state.tasks.recent()}
    assert history[failed["id"]].state == "failed"
    assert history[failed["id"]].error.message == failed["error"]["message"]
    assert history[running["id"]].state == "interrupted"
    assert tree(tmp_path / "opt") == []


# ------------------------------------------------------------------ policy and bad input


ADMIN_FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


@pytest.mark.parametrize(
    "spack_site",
    [
        {
            "allow_user_mirrors": False,
            "mirrors": [
                {"name": "site", "url": "https://cache.example.org/v3", "fingerprints": [ADMIN_FPR]}
            ],
        }
    ],
)
async def test_policy_refuses_user_mirrors(
    jp_fetch: Fetch, jp_serverapp: ServerApp, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    jp_serverapp.log.addHandler(caplog.handler)  # the server's own log, as an admin reads it
    try:
        code, error = await refused(
            jp_fetch,
            "mirrors",
            method="POST",
            payload={"name": "mine", "url": "https://example.org/m"},
        )
    finally:
        jp_serverapp.log.removeHandler(caplog.handler)
    assert (code, error["code"]) == (403, "policy")
    assert error["message"] == "this site does not allow user-defined mirrors"
    assert "spackcache" not in (error["hint"] or "")  # REST hints quote no CLI command
    assert not (home / "config.yaml").exists()  # nothing saved
    (line,) = {r.getMessage() for r in caplog.records if "spackcache refused" in r.getMessage()}
    assert line.startswith("spackcache refused: user=") and "route=POST /" in line
    assert line.endswith(
        "status=403 code=policy message=this site does not allow user-defined mirrors"
    )

    [site] = await api(jp_fetch, "mirrors")
    assert site["origin"] == "site" and site["pinned_keys"] == [ADMIN_FPR]
    code, error = await refused(jp_fetch, "mirrors", "site", method="DELETE")
    assert (code, error["code"]) == (403, "policy")
    assert error["message"] == (
        "mirror 'site' is defined by the site configuration and cannot be removed"
    )


@pytest.mark.parametrize(
    "spack_site", [{"allow_file_mirrors": False, "allow_unsigned_mirrors": False}]
)
async def test_policy_refuses_file_and_unsigned_mirrors(jp_fetch: Fetch, tmp_path: Path) -> None:
    code, error = await refused(
        jp_fetch, "mirrors", method="POST", payload={"name": "local", "url": f"file://{tmp_path}"}
    )
    assert (code, error["message"]) == (403, "this site does not allow file:// mirrors")
    code, error = await refused(
        jp_fetch,
        "mirrors",
        method="POST",
        payload={"name": "u", "url": "https://x.org", "unsigned": True},
    )
    assert (code, error["message"]) == (403, "this site does not allow unsigned mirrors")


async def test_bad_input_gets_one_line_errors(jp_fetch: Fetch, tmp_path: Path) -> None:
    code, error = await refused(
        jp_fetch, "plan", method="POST", payload={"specs": ["zlib; rm -rf /"]}
    )
    assert (code, error["code"]) == (400, "spec-syntax")
    assert "\n" not in error["message"] and error["message"].endswith("at column 5")

    code, error = await refused(
        jp_fetch, "installs", method="POST", payload={"specs": ["zlib cmake"]}
    )
    assert code == 400 and "expected one spec" in error["message"]
    code, error = await refused(jp_fetch, "installs", method="POST", payload={"specs": "zlib"})
    assert (code, error["message"]) == (400, "'specs' must be a list of strings")
    code, error = await refused(jp_fetch, "specs", params={"q": "@@"})
    assert code == 400 and error["code"] == "spec-syntax"
    code, error = await refused(
        jp_fetch, "mirrors", method="POST", payload={"name": "bad name", "url": "https://x.org"}
    )
    assert (code, error["message"]) == (400, "invalid mirror name 'bad name'")
    code, error = await refused(jp_fetch, "tasks", "abc123")
    assert (code, error["message"]) == (404, "no task 'abc123'")
    code, error = await refused(
        jp_fetch, "keys", "trust", method="POST", payload={"mirror": "x", "fingerprints": []}
    )
    assert code == 400 and error["message"] == "name the fingerprints to trust"
    assert await api(jp_fetch, "tasks") == []  # nothing was queued by any of that
    assert not (tmp_path / "opt").exists()


async def test_host_reports_target_libc_and_free_space(jp_fetch: Fetch, tmp_path: Path) -> None:
    host = await api(jp_fetch, "host")
    assert host["target"] == host["compatible_targets"][0]
    assert host["platform"] == "linux" and host["libc"]["name"] == "glibc"
    assert host["install_root"]["path"] == str(tmp_path / "opt")
    space = host["install_root"]
    assert 0 < space["free_bytes"] <= space["total_bytes"] == shutil.disk_usage(tmp_path).total


async def test_site_yaml_edits_reach_every_route_at_once(
    jp_fetch: Fetch, tmp_path: Path, home: Path
) -> None:
    """The chosen rule: the server re-reads the YAML files when they change (docs/admin-guide)."""
    site = tmp_path / "no-site.yaml"  # the layer the ``home`` fixture names
    site.write_text("mirrors: [{name: centre, url: 'https://cache.example.org/v3'}]\n")
    assert [m["name"] for m in await api(jp_fetch, "mirrors")] == ["centre"]
    site.write_text("mirrors: []\n")
    assert await api(jp_fetch, "mirrors") == []  # no refresh needed

    site.write_text("mirrors: []\ninstall_rot: /x\n")
    for parts, method, payload in (
        (("mirrors",), "GET", None),
        (("specs",), "GET", None),
        (("plan",), "POST", {"specs": ["zlib"]}),
        (("installs",), "POST", {"specs": ["zlib"]}),
    ):
        code, error = await refused(jp_fetch, *parts, method=method, payload=payload)
        assert (code, error["code"]) == (400, "config"), parts
        assert error["message"] == f"{site}:2: unknown key 'install_rot'", parts
        assert error["hint"] == "did you mean 'install_root'?"
    assert (await api(jp_fetch, "status"))["version"]  # the extension itself stays up

    site.write_text("mirrors: []\n")
    assert await api(jp_fetch, "mirrors") == []
