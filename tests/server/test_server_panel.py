"""What the panel shows comes from the server: per-mirror trust, the resolver's best build,
why a search found nothing, and a "changed" event when the CLI, a magic or another tab
changes the store, the mirrors or the keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.nomatch import close_names
from jupyter_spackcache.resolve import resolve
from jupyter_spackcache.session import Session
from jupyter_spackcache.spec.parser import parse_spec
from jupyter_spackcache.trust import Keyring
from jupyter_spackcache.trust.mirrortrust import mirror_trust
from tests.server.test_server_api import (  # noqa: F401 (fixtures)
    Fetch,
    api,
    demo,
    home,
    jp_fetch,
    jp_server_config,
    parse_sse,
    refused,
    served,
    spack_site,
)
from tests.support.servers import StaticServer

pytest_plugins = ["pytest_jupyter.jupyter_server"]

A, B = "A" * 40, "B" * 40


def test_trust_is_per_mirror() -> None:
    def state(**kw: Any) -> str:
        args: dict[str, Any] = {"unsigned": False, "pinned": (), "published": (), "trusted": ()}
        return mirror_trust(**{**args, **kw}).state

    assert state(unsigned=True, trusted={A}) == "unsigned"
    assert state(published=(A,), trusted={A}) == "trusted"
    # another mirror's trusted key does not make this one trusted
    assert state(published=(A,), trusted={B}) == "untrusted"
    assert state(published=(), trusted={A, B}) == "untrusted"
    # pins decide: a published but unpinned key does not count
    assert state(pinned=(B,), published=(A, B), trusted={A}) == "untrusted"
    assert state(pinned=(B,), published=None, trusted={B}) == "trusted"
    unknown = mirror_trust(
        unsigned=False, pinned=(), published=None, trusted={A}, problem="offline"
    )
    assert unknown.state == "unknown" and unknown.problem == "offline"


def test_close_names_catch_slips() -> None:
    names = ["demo-scripts", "demo-tool", "libdemo-base", "zlib"]
    assert close_names("dmeo", names)[0].startswith("demo")
    assert close_names("gromacs", names) == ()
    assert close_names("zlb", names)[0] == "zlib"


async def changed_events(fetch: Fetch, seconds: float) -> list[dict[str, Any]]:
    chunks: list[bytes] = []
    request = fetch(
        "spackcache",
        "api",
        "events",
        params={"kind": "changed"},
        streaming_callback=chunks.append,
        request_timeout=seconds,
    )
    with contextlib.suppress(Exception):  # the timeout ends the endless stream
        await request
    return [data for kind, data in parse_sse(b"".join(chunks)) if kind == "changed"]


async def changes_while(fetch: Fetch, *cli: str) -> list[dict[str, Any]]:
    """The "changed" events sent while ``spackcache CLI...`` runs in another process."""
    listener = asyncio.ensure_future(changed_events(fetch, 8.0))
    await asyncio.sleep(1.2)  # the stream is open before the change
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jupyter_spackcache.cli",
        *cli,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return await listener


@pytest.mark.slow
async def test_badges_follow_the_keyring_and_changes_are_pushed(
    jp_fetch: Fetch,  # noqa: F811
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    assert demo.fingerprint is not None
    added = await api(
        jp_fetch, "mirrors", method="POST", payload={"name": "demo", "url": served.url}
    )
    assert added["trust"]["state"] == "untrusted"
    assert added["trust"]["keys"] == [demo.fingerprint]
    await api(
        jp_fetch,
        "keys",
        "trust",
        method="POST",
        payload={"mirror": "demo", "fingerprints": [demo.fingerprint]},
    )
    with StaticServer(demo.path) as copy:
        await api(
            jp_fetch,
            "mirrors",
            method="POST",
            payload={"name": "loose", "url": copy.url, "unsigned": True},
        )
        states = {m["name"]: m["trust"]["state"] for m in await api(jp_fetch, "mirrors")}
        assert states == {"demo": "trusted", "loose": "unsigned"}

        # untrusted from a terminal: the badge follows, and the panel is told
        listener = asyncio.ensure_future(changed_events(jp_fetch, 4.0))
        await asyncio.sleep(1.2)
        with Keyring(home / "gnupg") as keyring:
            keyring.remove(demo.fingerprint)
        events = await listener
        assert any("keys" in e["what"] for e in events), events
        mirrors = await api(jp_fetch, "mirrors")
        assert mirrors[0]["trust"] == {
            "state": "untrusted",
            "keys": [demo.fingerprint],
            "trusted_keys": [],
            "problem": None,
        }


@pytest.mark.slow
async def test_best_build_and_why_nothing_matches(
    jp_fetch: Fetch,  # noqa: F811
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    none = await api(jp_fetch, "specs", params={"q": "demo-tool"})
    assert none["why"]["kind"] == "no-mirror"

    await api(jp_fetch, "mirrors", method="POST", payload={"name": "demo", "url": served.url})
    listing = await api(jp_fetch, "specs", params={"q": "demo-tool"})
    group = listing["items"][0]
    indices, _ = Session().indices(refresh=False)
    chosen = resolve(parse_spec("demo-tool"), indices, Session().host).chosen
    assert chosen is not None and group["best"] == chosen.root.hash
    assert listing["why"] is None
    # applications (nothing in the mirror needs them) apart from the libraries they link to
    roles = {g["name"]: g["role"] for g in (await api(jp_fetch, "specs"))["items"]}
    assert roles["demo-tool"] == "application"
    assert roles["libdemo-base"] == roles["libdemo-mid"] == "library"

    typo = await api(jp_fetch, "specs", params={"q": "dmeo"})
    assert typo["why"]["kind"] == "no-package" and typo["why"]["suggestions"]
    absent = await api(jp_fetch, "specs", params={"q": "gromacs"})
    assert absent["why"]["kind"] == "no-package"
    assert "no package named 'gromacs'" in absent["why"]["message"]
    version = await api(jp_fetch, "specs", params={"q": "demo-tool@9"})
    assert version["why"]["kind"] == "other-versions"
    assert version["why"]["versions"] == ["1.0.0"]
    target = await api(jp_fetch, "specs", params={"q": "demo-tool target=zen3"})
    assert target["why"]["kind"] == "no-match"
    assert "do not match (target" in target["why"]["message"]


@pytest.mark.slow
async def test_an_install_elsewhere_is_pushed(
    jp_fetch: Fetch,  # noqa: F811
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    assert demo.fingerprint is not None
    await api(jp_fetch, "mirrors", method="POST", payload={"name": "demo", "url": served.url})
    await api(
        jp_fetch,
        "keys",
        "trust",
        method="POST",
        payload={"mirror": "demo", "fingerprints": [demo.fingerprint]},
    )
    # as `%spack install` in a notebook or a terminal does: another process
    events = await changes_while(jp_fetch, "install", "libdemo-base")
    assert any("installed" in e["what"] for e in events), events
    # a kernel made from a terminal (as `%spack kernel` does): JupyterLab must refresh its list
    events = await changes_while(jp_fetch, "kernel", "add", "libdemo-base")
    assert any("kernels" in e["what"] for e in events), events


@pytest.mark.slow
async def test_dry_runs_name_what_would_go(
    jp_fetch: Fetch,  # noqa: F811
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    assert demo.fingerprint is not None
    await api(jp_fetch, "mirrors", method="POST", payload={"name": "demo", "url": served.url})
    await api(
        jp_fetch,
        "keys",
        "trust",
        method="POST",
        payload={"mirror": "demo", "fingerprints": [demo.fingerprint]},
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "jupyter_spackcache.cli",
        "install",
        "demo-tool",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    before = await api(jp_fetch, "installed")
    base = next(r["hash"] for r in before if r["name"] == "libdemo-base")
    would = await api(
        jp_fetch,
        "installed",
        base,
        method="DELETE",
        params={"dependents": "true", "dry_run": "true"},
    )
    assert {r["name"] for r in would["removed"]} == {"libdemo-base", "libdemo-mid", "demo-tool"}
    assert await api(jp_fetch, "installed") == before  # nothing removed
    tool = next(r["hash"] for r in before if r["name"] == "demo-tool")
    await api(jp_fetch, "installed", tool, method="DELETE")
    gc = await api(jp_fetch, "gc", method="POST", payload={}, params={"dry_run": "true"})
    assert {r["name"] for r in gc["removed"]} == {"libdemo-mid", "libdemo-base"}
    assert len(await api(jp_fetch, "installed")) == 2


@pytest.mark.slow
async def test_untrust_from_the_panel(
    jp_fetch: Fetch,  # noqa: F811
    demo: DemoMirror,  # noqa: F811
    served: StaticServer,  # noqa: F811
    home: Path,  # noqa: F811
) -> None:
    assert demo.fingerprint is not None
    await api(jp_fetch, "mirrors", method="POST", payload={"name": "demo", "url": served.url})
    await api(
        jp_fetch,
        "keys",
        "trust",
        method="POST",
        payload={"mirror": "demo", "fingerprints": [demo.fingerprint]},
    )
    removed = await api(jp_fetch, "keys", demo.fingerprint, method="DELETE")
    assert removed["fingerprint"] == demo.fingerprint and removed["trusted"] is False
    assert await api(jp_fetch, "keys") == []
    assert (await api(jp_fetch, "mirrors"))[0]["trust"]["state"] == "untrusted"
    code, error = await refused(jp_fetch, "keys", demo.fingerprint, method="DELETE")
    assert code == 404 and error["code"] == "not-found"


@pytest.mark.parametrize("spack_site", [{"allow_unsigned_mirrors": False}])
async def test_host_says_what_the_site_allows(jp_fetch: Fetch) -> None:  # noqa: F811
    policy = (await api(jp_fetch, "host"))["policy"]
    assert policy == {"user_mirrors": True, "unsigned_mirrors": False, "file_mirrors": True}
