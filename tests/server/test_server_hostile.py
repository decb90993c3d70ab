"""The server against hostile clients and damaged state (issue #16, items 7 and 9).

A real Jupyter server (pytest-jupyter) with the extension loaded; each test builds its input.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from tests.support.hostile import INDEX_MANIFEST, write_index_bytes

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.slow

Fetch = Callable[..., Awaitable[HTTPResponse]]
BUILDS = 400


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_spackcache": True}}}


@pytest.fixture
def damaged_tasks() -> bool:
    return False


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, damaged_tasks: bool) -> Iterator[Path]:
    short = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(short))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "no-site.yaml"))
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(tmp_path / "opt"))
    for var, value in (
        ("SPACKCACHE_PLATFORM", "linux"),
        ("SPACKCACHE_OS", "debian12"),
        ("SPACKCACHE_TARGET", "x86_64"),
        ("SPACKCACHE_LIBC", "none"),
    ):
        monkeypatch.setenv(var, value)
    if damaged_tasks:  # before the server (and the extension) starts
        (short / "tasks.sqlite").write_bytes(b"this is not a database" * 100)
    yield short
    shutil.rmtree(short, ignore_errors=True)


async def _get(jp_fetch: Fetch, *parts: str, **params: str) -> Any:
    response = await jp_fetch("spackcache", "api", *parts, params=params)
    return json.loads(response.body)


async def _refused(jp_fetch: Fetch, *parts: str, body: bytes) -> tuple[int, Any]:
    with pytest.raises(HTTPClientError) as failure:
        await jp_fetch("spackcache", "api", *parts, method="POST", body=body)
    response = failure.value.response
    return failure.value.code, json.loads(response.body) if response and response.body else None


# ---- 7. request bodies and memory ------------------------------------------------------------


async def test_oversized_and_deeply_nested_bodies_are_refused(jp_fetch: Fetch) -> None:
    code, answer = await _refused(
        jp_fetch, "plan", body=b'{"specs": ["' + b"x" * (4 << 20) + b'"]}'
    )
    assert code == 413
    assert answer is None or answer["error"]["code"] == "too-large"
    code, answer = await _refused(jp_fetch, "plan", body=b"[" * 100_000 + b"]" * 100_000)
    assert code == 400 and answer["error"]["code"] == "too-large"
    assert "nested more than 32 levels" in answer["error"]["message"]
    deep: Any = 1
    for _ in range(40):  # valid JSON, shallow enough for the decoder, too deep for a route
        deep = [deep]
    nested = json.dumps({"specs": ["zlib"], "x": deep})
    code, answer = await _refused(jp_fetch, "plan", body=nested.encode())
    assert code == 400 and answer["error"]["code"] == "too-large"
    # the server is fine afterwards
    assert await _get(jp_fetch, "tasks") is not None


def _synthetic_mirror(root: Path) -> None:
    """A file:// v3 mirror (unsigned) whose index has BUILDS builds of one package."""
    installs = {}
    for i in range(BUILDS):
        h = hashlib.sha1(f"pkg{i}".encode()).hexdigest()[:32]
        installs[h] = {
            "in_buildcache": True,
            "ref_count": 0,
            "spec": {
                "name": "pkg",
                "version": f"1.{i}",
                "hash": h,
                "namespace": "builtin",
                "arch": {"platform": "linux", "platform_os": "debian12", "target": "x86_64"},
                "parameters": {"build_system": "generic", "opt": f"value-{i}"},
            },
        }
    (root / INDEX_MANIFEST).parent.mkdir(parents=True)
    (root / "v3" / "layout.json").write_text('{"signing": "gpg"}')
    write_index_bytes(
        root, json.dumps({"database": {"version": "8", "installs": installs}}).encode()
    )


def _rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_a_thousand_distinct_searches_keep_memory_bounded(
    jp_fetch: Fetch, home: Path, tmp_path: Path
) -> None:
    mirror = tmp_path / "synth"
    _synthetic_mirror(mirror)
    payload = {"name": "synth", "url": f"file://{mirror}", "unsigned": True}
    await jp_fetch("spackcache", "api", "mirrors", method="POST", body=json.dumps(payload))
    first = await _get(jp_fetch, "specs", q="pkg@:2000", per_page="5")
    assert len(first["items"]) == 1 and len(first["items"][0]["versions"]) == BUILDS
    for i in range(50):  # warm up: allocator arenas, memo at its bound
        await _get(jp_fetch, "specs", q=f"pkg@:{3000 + i}", per_page="1")
    gc.collect()
    before = _rss()
    for i in range(1000):  # every query is new, and every one matches every build
        await _get(jp_fetch, "specs", q=f"pkg@:{5000 + i}", per_page="1")
    gc.collect()
    grown = (_rss() - before) / 1e6
    assert grown < 40, f"RSS grew by {grown:.0f} MB over 1000 distinct searches"


# ---- 9. a damaged task database ------------------------------------------------------------


@pytest.mark.parametrize("damaged_tasks", [True])
async def test_a_damaged_task_database_is_moved_aside_and_the_extension_works(
    jp_fetch: Fetch, home: Path, damaged_tasks: bool
) -> None:
    tasks = await _get(jp_fetch, "tasks")  # the extension loaded: its routes answer
    assert tasks == []
    aside = list(home.glob("tasks.sqlite.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert (home / "tasks.sqlite").read_bytes().startswith(b"SQLite format 3")


# ---- 3. an index bomb on one mirror ---------------------------------------------------------


async def test_an_index_bomb_on_one_mirror_leaves_the_others_searchable(
    jp_fetch: Fetch, home: Path, tmp_path: Path
) -> None:
    import gzip

    (home / "config.yaml").write_text("limits:\n  max_index_bytes: 20000000\n")
    good, bomb = tmp_path / "good", tmp_path / "bomb"
    _synthetic_mirror(good)
    _synthetic_mirror(bomb)
    head = b'{"database": {"version": "8", "installs": {}}, "padding": "'
    write_index_bytes(bomb, gzip.compress(head + b"0" * 300_000_000 + b'"}', 9), "gzip")
    for name, root in (("bomb", bomb), ("good", good)):
        payload = {"name": name, "url": f"file://{root}", "unsigned": True}
        await jp_fetch("spackcache", "api", "mirrors", method="POST", body=json.dumps(payload))
    found = await _get(jp_fetch, "specs", q="pkg", per_page="1")
    assert found["items"][0]["mirrors"] == ["good"]
    mirrors = await _get(jp_fetch, "mirrors")
    assert {m["name"] for m in mirrors} == {"bomb", "good"}


# ---- 6. a 600-deep dependency chain over REST ------------------------------------------------


async def test_a_600_deep_chain_plans_without_a_500(
    jp_fetch: Fetch, home: Path, tmp_path: Path
) -> None:
    depth = 600
    hashes = [hashlib.sha1(f"c{i}".encode()).hexdigest()[:32] for i in range(depth)]
    installs = {}
    for i, h in enumerate(hashes):
        spec: dict[str, Any] = {
            "name": f"c{i}",
            "version": "1.0",
            "hash": h,
            "namespace": "builtin",
            "arch": {"platform": "linux", "platform_os": "debian12", "target": "x86_64"},
            "parameters": {"build_system": "generic"},
        }
        if i + 1 < depth:
            spec["dependencies"] = [
                {
                    "name": f"c{i + 1}",
                    "hash": hashes[i + 1],
                    "parameters": {"deptypes": ["link"], "virtuals": []},
                }
            ]
        installs[h] = {"spec": spec, "ref_count": 1, "in_buildcache": True}
    mirror = tmp_path / "chain"
    (mirror / INDEX_MANIFEST).parent.mkdir(parents=True)
    (mirror / "v3" / "layout.json").write_text('{"signing": "gpg"}')
    write_index_bytes(
        mirror, json.dumps({"database": {"version": "8", "installs": installs}}).encode()
    )
    payload = {"name": "chain", "url": f"file://{mirror}", "unsigned": True}
    await jp_fetch("spackcache", "api", "mirrors", method="POST", body=json.dumps(payload))
    found = await _get(jp_fetch, "specs", q="c0")
    assert found["items"][0]["name"] == "c0"
    # the mirror has an index but no spec files: planning reaches the metadata of the deepest
    # node and says so in one line, instead of a RecursionError and a 500
    code, answer = await _refused(jp_fetch, "plan", body=json.dumps({"specs": ["c0"]}).encode())
    assert code in (404, 502), answer
    assert "c599" in answer["error"]["message"] or "c0" in answer["error"]["message"]
