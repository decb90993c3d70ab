"""The use cases of ``jupyter_spackcache.ops`` called directly, as the three front doors call
them, against the real signed demo mirror (gcc-built, gpg-signed)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from jupyter_spackcache.errors import ConfigError, InstallError, ResolveError, SignatureError
from jupyter_spackcache.install.installed import one_installed
from jupyter_spackcache.install.plan import Plan
from jupyter_spackcache.ops.install import InstallRequest, plan_install, run_plan
from jupyter_spackcache.ops.keys import TrustRequest, mirror_keys, trust_keys
from jupyter_spackcache.ops.mirrors import (
    MirrorRequest,
    add_mirror,
    mirror_statuses,
    remove_mirror,
)
from jupyter_spackcache.ops.removal import gc_order, remove, uninstall_order
from jupyter_spackcache.session import Session

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="so", dir="/tmp"))  # short: gpg sockets live here
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(tmp_path / "opt"))
    for var in (
        "SPACKCACHE_PLATFORM",
        "SPACKCACHE_OS",
        "SPACKCACHE_TARGET",
        "SPACKCACHE_LIBC",
        "SPACKCACHE_FAULT",
    ):
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def session(home: Path, signed_demo: DemoMirror) -> Iterator[Session]:
    """A session with the demo mirror added and its key trusted, through ops."""
    assert signed_demo.fingerprint is not None
    with Session() as session:
        change = add_mirror(
            MirrorRequest("demo", str(signed_demo.path)),
            config=session.config,
            keyring=session.keyring,
        )
        session.adopt(change.config)
        offered = mirror_keys(
            "demo", config=session.config, catalog=session.catalog, keyring=session.keyring
        )
        assert [k.fingerprint for k in offered] == [signed_demo.fingerprint]
        trusted = trust_keys(
            TrustRequest("demo", (signed_demo.fingerprint,)),
            config=session.config,
            catalog=session.catalog,
            keyring=session.keyring,
        )
        assert [k.fingerprint for k in trusted] == [signed_demo.fingerprint]
        yield session


def plan(session: Session, *texts: str) -> Plan:
    return plan_install(
        InstallRequest(texts, session.config.store_root),
        catalog=session.catalog,
        store=session.store,
        host=session.host,
    )


def shape(p: Plan) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    return p.roots, [(n.hash, n.action) for n in p.nodes]


def test_cli_words_and_a_rest_list_plan_the_same(session: Session) -> None:
    """The CLI joins its words into one text, the server sends a list: one behaviour."""
    from_words = plan(session, "libdemo-mid demo-tool")
    from_list = plan(session, "libdemo-mid", "demo-tool")
    assert shape(from_words) == shape(from_list)
    assert len(from_words.roots) == 2 and from_words.ok
    assert {n.action for n in from_words.nodes} >= {"download", "external"}


def test_a_miss_among_several_specs_installs_nothing(session: Session) -> None:
    with pytest.raises(ResolveError, match="no-such-package"):
        plan(session, "demo-tool", "no-such-package")


def test_install_uninstall_gc(session: Session) -> None:
    p = plan(session, "demo-tool")
    result = run_plan(
        p, catalog=session.catalog, store=session.store, config=session.config, jobs=2
    )
    assert {r.name for r in result.installed} == {"libdemo-base", "libdemo-mid", "demo-tool"}
    assert shape(plan(session, "demo-tool"))[1] == [
        (h, "external" if a == "external" else "reuse") for h, a in shape(p)[1]
    ]  # planned again: everything is found installed

    store, config = session.store, session.config
    base = one_installed(store, "libdemo-base")
    with pytest.raises(InstallError, match="needed by"):
        uninstall_order([base], store=store, config=config, dependents=False)
    everything = uninstall_order([base], store=store, config=config, dependents=True)
    assert [r.name for r in everything.packages] == ["demo-tool", "libdemo-mid", "libdemo-base"]

    tool = uninstall_order(
        [one_installed(store, "demo-tool")], store=store, config=config, dependents=False
    )
    assert [r.name for r in remove(tool, store=store, config=config).packages] == ["demo-tool"]
    garbage = gc_order(store=store, config=config)
    assert sorted(r.name for r in garbage.packages) == ["libdemo-base", "libdemo-mid"]
    remove(garbage, store=store, config=config)
    assert store.installed() == [] and gc_order(store=store, config=config).packages == ()


def test_mirror_list_remove_and_keys_pinned(session: Session) -> None:
    [status] = mirror_statuses(config=session.config, catalog=session.catalog)
    assert status.mirror.name == "demo" and status.layout is None  # no index read yet
    with pytest.raises(SignatureError, match="does not publish"):
        trust_keys(
            TrustRequest("demo", ("0" * 40,)),
            config=session.config,
            catalog=session.catalog,
            keyring=session.keyring,
        )
    change = remove_mirror("demo", config=session.config, catalog=session.catalog)
    assert change.mirror.name == "demo" and change.config.mirrors == ()
    session.adopt(change.config)
    with Session() as fresh:  # saved: a new session reads the same configuration
        assert fresh.config.mirrors == ()
    with pytest.raises(ConfigError, match="unknown mirror"):
        remove_mirror("demo", config=session.config, catalog=session.catalog)
