"""A user with no mirror: the offers in ``GET /host``, adding a site preset, the demo task.

Against a real Jupyter server: presets come from a real site file (the per-test
``$SPACKCACHE_SITE_CONFIG``), the preset mirror is the signed demo mirror over real HTTP, and
the demo task really compiles the demo stack with gcc in the install child process.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.presets import SPACK_PUBLIC
from tests.server.test_server_api import (  # noqa: F401 (fixtures)
    Fetch,
    api,
    demo,
    home,
    jp_fetch,
    jp_server_config,
    refused,
    served,
    spack_site,
)
from tests.support.servers import StaticServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

pytestmark = pytest.mark.slow


def site_file(data: dict[str, Any]) -> None:
    """Write the test's own site layer (``home`` points $SPACKCACHE_SITE_CONFIG at it)."""
    import os

    Path(os.environ["SPACKCACHE_SITE_CONFIG"]).write_text(yaml.safe_dump(data))


async def wait_task(jp_fetch: Fetch, task_id: str, seconds: float = 120) -> dict[str, Any]:  # noqa: F811
    deadline = time.monotonic() + seconds
    while True:
        task: dict[str, Any] = await api(jp_fetch, "tasks", task_id)
        if task["state"] not in ("queued", "running"):
            return task
        assert time.monotonic() < deadline, task
        await asyncio.sleep(0.2)


async def test_a_new_user_is_offered_spacks_public_cache_and_the_demo(
    jp_fetch: Fetch,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    first = (await api(jp_fetch, "host"))["first_run"]
    assert first["presets"] == [
        {
            "name": "spack-public",
            "url": "https://binaries.spack.io/develop",
            "title": SPACK_PUBLIC.title,
            "description": SPACK_PUBLIC.description,
            "signed": True,
            "refusal": None,
        }
    ]
    assert first["demo"] == {
        "name": "demo",
        "url": (home / "demo-mirror").as_uri(),
        "refusal": None,
        "unavailable": None,  # gcc is installed on the test machine
    }


async def test_policy_refusals_are_shown_and_enforced(jp_fetch: Fetch) -> None:  # noqa: F811
    site_file({"policy": {"allow_user_mirrors": False}})
    first = (await api(jp_fetch, "host"))["first_run"]
    why = "this site does not allow user-defined mirrors"
    assert [p["refusal"] for p in first["presets"]] == [why]
    assert first["demo"]["refusal"] == why
    code, error = await refused(
        jp_fetch, "mirrors", method="POST", payload={"preset": "spack-public"}
    )
    assert (code, error["code"], error["message"]) == (403, "policy", why)
    code, error = await refused(jp_fetch, "demo-mirror", method="POST", payload={})
    assert (code, error["code"], error["message"]) == (403, "policy", why)
    assert await api(jp_fetch, "tasks") == []  # nothing was started

    site_file({"policy": {"allow_file_mirrors": False}})
    first = (await api(jp_fetch, "host"))["first_run"]
    assert first["presets"][0]["refusal"] is None  # https is still allowed
    assert first["demo"]["refusal"] == "this site does not allow file:// mirrors"


async def test_site_presets_replace_the_default_and_add_as_described(
    jp_fetch: Fetch,  # noqa: F811
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
) -> None:
    site_file(
        {
            "mirror_presets": [
                {
                    "name": "team",
                    "url": served.url + "/",
                    "title": "Our team's cache",
                    "description": "Built nightly by the research software group.",
                }
            ],
            "offer_demo_mirror": False,
        }
    )
    first = (await api(jp_fetch, "host"))["first_run"]
    assert [(p["name"], p["url"], p["title"]) for p in first["presets"]] == [
        ("team", served.url, "Our team's cache")  # normalised like a configured mirror
    ]
    assert first["demo"] is None
    code, error = await refused(jp_fetch, "demo-mirror", method="POST", payload={})
    assert (code, error["code"]) == (403, "policy")

    code, error = await refused(jp_fetch, "mirrors", method="POST", payload={"preset": "nope"})
    assert code == 404 and "offered: team" in error["message"]
    added = await api(jp_fetch, "mirrors", method="POST", payload={"preset": "team"})
    assert (added["name"], added["url"], added["signed"]) == ("team", served.url, True)
    assert added["trust"]["state"] == "untrusted"  # the key review comes next
    mirrors = await api(jp_fetch, "mirrors")
    assert [(m["name"], m["url"], m["origin"]) for m in mirrors] == [("team", served.url, "user")]


async def test_presets_empty_list_offers_none(jp_fetch: Fetch) -> None:  # noqa: F811
    site_file({"mirror_presets": []})
    first = (await api(jp_fetch, "host"))["first_run"]
    assert first["presets"] == [] and first["demo"] is not None


async def test_the_demo_task_builds_adds_and_trusts_the_demo_mirror(
    jp_fetch: Fetch,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    started = await api(jp_fetch, "demo-mirror", method="POST", payload={})
    assert started["kind"] == "demo-mirror" and started["state"] in ("queued", "running")
    assert started["install_root"] == str(home / "demo-mirror")
    again = await api(jp_fetch, "demo-mirror", method="POST", payload={})
    assert again["id"] == started["id"]  # the running task, not a second build

    task = await wait_task(jp_fetch, started["id"])
    assert task["state"] == "done", task["error"]
    assert any("compiling the demo packages with gcc" in line for line in task["log"])
    assert any("mirror 'demo' added; its key" in line for line in task["log"])
    [mirror] = await api(jp_fetch, "mirrors")
    assert (mirror["name"], mirror["url"]) == ("demo", (home / "demo-mirror").as_uri())
    assert mirror["trust"]["state"] == "trusted"
    found = await api(jp_fetch, "specs", params={"q": "demo"})
    assert "demo-tool" in [g["name"] for g in found["items"]]
    assert not list(home.glob(".demo-mirror-building-*"))  # the scratch build is gone

    # asked again: nothing to build, and the task says so
    repeat = await api(jp_fetch, "demo-mirror", method="POST", payload={})
    assert repeat["id"] != started["id"]
    done = await wait_task(jp_fetch, repeat["id"])
    assert done["state"] == "done"
    assert any("already set up" in line for line in done["log"])

    # removed, then asked again: the mirror built earlier is added back, not rebuilt
    await api(jp_fetch, "mirrors", "demo", method="DELETE")
    back = await wait_task(
        jp_fetch, (await api(jp_fetch, "demo-mirror", method="POST", payload={}))["id"]
    )
    assert back["state"] == "done"
    assert any("built earlier" in line for line in back["log"])
    assert not any("compiling" in line for line in back["log"])
    [mirror] = await api(jp_fetch, "mirrors")
    assert mirror["trust"]["state"] == "trusted"


async def test_without_gcc_the_demo_is_unavailable_and_its_task_says_why(
    jp_fetch: Fetch,  # noqa: F811
    home: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # the server and its child find no gcc
    demo_offer = (await api(jp_fetch, "host"))["first_run"]["demo"]
    assert demo_offer["refusal"] is None
    assert "gcc is not installed on this server" in demo_offer["unavailable"]
    started = await api(jp_fetch, "demo-mirror", method="POST", payload={})
    task = await wait_task(jp_fetch, started["id"])
    assert task["state"] == "failed"
    assert task["error"]["code"] == "install" and "no gcc" in task["error"]["message"]
    # nothing was left behind that a later attempt would trip over
    assert not (home / "demo-mirror").exists() and not (home / "demo-gnupg").exists()
    assert await api(jp_fetch, "mirrors") == []


async def test_a_cancelled_demo_task_leaves_nothing_behind(
    jp_fetch: Fetch,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    started = await api(jp_fetch, "demo-mirror", method="POST", payload={})
    await api(jp_fetch, "tasks", started["id"], method="DELETE")
    task = await wait_task(jp_fetch, started["id"])
    assert task["state"] == "cancelled"  # while queued (no error) or while building
    assert task["error"] is None or task["error"]["code"] == "cancelled"
    assert await api(jp_fetch, "mirrors") == []
    assert not (home / "demo-mirror").exists()
    assert not list(home.glob(".demo-mirror-building-*"))
