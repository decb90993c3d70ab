"""``POST /installs/from-file``: a real Jupyter server, the signed demo mirror over HTTP, and
environment files in the server's file tree (what the file browser's context menu sends).
Every answer is checked against docs/openapi.yaml (the ``jp_fetch`` of ``test_server_api``)."""

# ruff: noqa: F811  (pytest fixtures imported from another test module)
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.ops.environments import lock_from_documents, signed_documents
from jupyter_spackcache.session import Session
from tests.server.test_server_api import (  # noqa: F401
    Fetch,
    add_trusted_mirror,
    api,
    body,
    demo,
    home,
    jp_fetch,
    jp_server_config,
    refused,
    served,
    spack_site,
    wait_finished,
)
from tests.support.servers import StaticServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]
pytestmark = pytest.mark.slow


async def demo_lock(jp_fetch: Fetch, demo: DemoMirror, served: StaticServer) -> tuple[str, str]:
    """A trusted demo mirror, and a spack.lock of demo-tool (root hash, lock text)."""
    assert demo.fingerprint is not None
    await add_trusted_mirror(jp_fetch, served.url, demo.fingerprint)
    listing = await api(jp_fetch, "specs", params={"q": "demo-tool"})
    root = listing["items"][0]["builds"][0]["hash"]
    with Session() as session:  # the same SPACKCACHE_HOME as the server's
        text = lock_from_documents(
            [(root, "demo-tool")],
            signed_documents(catalog=session.catalog, store=session.store, host=session.host),
        )
    return root, text


async def test_install_a_spack_lock_from_the_file_tree(
    jp_fetch: Fetch, jp_root_dir: Path, demo: DemoMirror, served: StaticServer
) -> None:
    root, text = await demo_lock(jp_fetch, demo, served)
    (jp_root_dir / "envs").mkdir()
    (jp_root_dir / "envs" / "spack.lock").write_text(text)

    response = await jp_fetch(
        "spackcache",
        "api",
        "installs",
        "from-file",
        method="POST",
        body=json.dumps({"path": "envs/spack.lock"}),
    )
    assert response.code == 202
    task = body(response)
    assert task["specs"] == [f"/{root}"]  # the root by its full hash: no resolving
    assert task["file"] == {
        "path": "envs/spack.lock",
        "kind": "spack.lock",
        "exact": True,
        "notes": [],
    }
    assert response.headers["Location"].endswith(f"/spackcache/api/tasks/{task['id']}")
    done = await wait_finished(jp_fetch, task["id"])
    assert done["state"] == "done", done["error"]

    lock = json.loads(text)
    runtime = {
        h
        for h, n in lock["concrete_specs"].items()
        if n["name"] in {"demo-tool", "libdemo-mid", "libdemo-base"}
    }
    assert {r["hash"] for r in await api(jp_fetch, "installed")} == runtime


async def test_spack_yaml_notes_and_bad_files(
    jp_fetch: Fetch, jp_root_dir: Path, demo: DemoMirror, served: StaticServer
) -> None:
    root, text = await demo_lock(jp_fetch, demo, served)
    (jp_root_dir / "spack.yaml").write_text("spack:\n  specs: [demo-tool]\n  view: false\n")
    task = await api(
        jp_fetch, "installs", "from-file", method="POST", payload={"path": "spack.yaml"}
    )
    assert task["specs"] == ["demo-tool"]
    assert task["file"]["exact"] is False
    assert task["file"]["notes"] == [
        "spack.yaml: ignored section 'view' (line 3); a binary install only uses 'specs'"
    ]
    assert (await wait_finished(jp_fetch, task["id"]))["state"] == "done"
    tasks_before = len(await api(jp_fetch, "tasks"))

    # a lock naming a build no mirror has: 404, every missing hash named, no task
    doc = json.loads(text)
    node = dict(doc["concrete_specs"][root], hash="q" * 32)
    doc["concrete_specs"]["q" * 32] = node
    doc["roots"] = [{"hash": "q" * 32, "spec": "demo-tool"}]
    (jp_root_dir / "other.lock").write_text(json.dumps(doc))
    code, error = await refused(
        jp_fetch, "installs", "from-file", method="POST", payload={"path": "other.lock"}
    )
    assert code == 404 and error["code"] == "locked-build-missing"
    assert error["message"] == (
        f"1 locked build(s) of other.lock in no configured mirror: demo-tool@1.0.0/{'q' * 32}"
    )
    assert len(await api(jp_fetch, "tasks")) == tasks_before

    (jp_root_dir / "broken.lock").write_text('{"_meta": {"lockfile-version": 9}, "roots": []}')
    bad: list[tuple[dict[str, Any], int, str, str]] = [
        (
            {"path": "broken.lock"},
            400,
            "env-file",
            "broken.lock is a version 9 Spack lockfile; this reads versions 5 and 6",
        ),
        ({"path": "nowhere/spack.lock"}, 404, "not-found", "cannot read 'nowhere/spack.lock'"),
        ({"path": "../outside.lock"}, 404, "not-found", "cannot read '../outside.lock'"),
        ({}, 400, "bad-request", "'path' must be a non-empty string"),
    ]
    for payload, status, code_name, message in bad:
        code, error = await refused(
            jp_fetch, "installs", "from-file", method="POST", payload=payload
        )
        assert (code, error["code"]) == (status, code_name), error
        assert error["message"].startswith(message), error
    assert len(await api(jp_fetch, "tasks")) == tasks_before
