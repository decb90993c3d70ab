"""What a package is and where it goes, over REST: descriptions from the recipe snapshots of
installed builds (here and in an upstream tree), and each plan node's prefix with the upstream
that provides it. A real server, the signed demo mirror over HTTP, a real upstream tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_spackcache.demo.build import DemoMirror, load_recipes
from tests.server.test_server_api import (  # noqa: F401 (fixtures)
    Fetch,
    add_trusted_mirror,
    api,
    demo,
    home,
    jp_fetch,
    jp_server_config,
    served,
    spack_site,
    wait_finished,
)
from tests.support.servers import StaticServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]
REPO = Path(__file__).resolve().parents[2]
DESCRIPTIONS = {r.name: r.description for r in load_recipes()}


def upstream_tree(base: Path, mirror_url: str, spec: str) -> Path:
    """A site's shared tree with ``spec`` installed (spackcache writes its .spack-db)."""
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
        ["install", "--yes", "--root", str(root), spec],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_spackcache.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (argv, done.stderr)
    return root


@pytest.mark.slow
async def test_descriptions_and_install_paths(
    jp_fetch: Fetch,  # noqa: F811 (the fixtures imported above)
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
) -> None:
    assert demo.fingerprint is not None
    await add_trusted_mirror(jp_fetch, served.url, demo.fingerprint)
    upstream = upstream_tree(Path(os.environ["SPACKCACHE_HOME"]), served.url, "libdemo-base")
    site = Path(os.environ["SPACKCACHE_SITE_CONFIG"])
    site.write_text(f"upstreams: ['{upstream}']\n")

    # nothing installed here: only the upstream tree's build says what its package is
    groups = {g["name"]: g for g in (await api(jp_fetch, "specs", params={"q": "demo"}))["items"]}
    assert groups["libdemo-base"]["description"] == DESCRIPTIONS["libdemo-base"]
    assert groups["demo-tool"]["description"] is None  # the mirror alone never says
    assert groups["libdemo-mid"]["description"] is None

    # the plan says where each package goes, and which upstream provides the reused one
    plan = await api(jp_fetch, "plan", method="POST", payload={"specs": ["demo-tool"]})
    nodes = {n["name"]: n for n in plan["nodes"]}
    base = nodes["libdemo-base"]
    assert base["action"] == "reuse" and base["upstream"] == str(upstream)
    assert base["prefix"].startswith(str(upstream) + "/")
    assert Path(base["prefix"], "lib", "libdemobase.so").is_file()
    for name in ("libdemo-mid", "demo-tool"):
        assert nodes[name]["action"] == "download" and nodes[name]["upstream"] is None
        assert nodes[name]["prefix"].startswith(plan["install_root"] + "/")
        assert f"/{name}-" in nodes[name]["prefix"]
    assert nodes["glibc"]["action"] == "external" and nodes["glibc"]["upstream"] is None

    response = await jp_fetch(
        "spackcache", "api", "installs", method="POST", body=json.dumps({"specs": ["demo-tool"]})
    )
    task = await wait_finished(jp_fetch, json.loads(response.body)["id"])
    assert task["state"] == "done", task["error"]
    installed = {r["name"]: r for r in await api(jp_fetch, "installed")}
    assert set(installed) == {"demo-tool", "libdemo-mid"}  # libdemo-base stays upstream
    for name, record in installed.items():
        assert record["description"] == DESCRIPTIONS[name]
        assert record["prefix"] == nodes[name]["prefix"]  # where the plan said
    # installed since the last search: the same query now knows what demo-tool is
    groups = {g["name"]: g for g in (await api(jp_fetch, "specs", params={"q": "demo"}))["items"]}
    assert groups["demo-tool"]["description"] == DESCRIPTIONS["demo-tool"]
    assert groups["demo-scripts"]["description"] is None

    # reinstalled: every node is reused, each where it already lives
    again = await api(jp_fetch, "plan", method="POST", payload={"specs": ["demo-tool"]})
    where = {n["name"]: (n["action"], n["prefix"], n["upstream"]) for n in again["nodes"]}
    assert where["demo-tool"] == ("reuse", installed["demo-tool"]["prefix"], None)
    assert where["libdemo-base"] == ("reuse", base["prefix"], str(upstream))
