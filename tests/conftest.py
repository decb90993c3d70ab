"""Shared fixtures: real servers on 127.0.0.1 (see tests/support/servers.py for the helpers).

* ``http_mirror(directory)`` → a started :class:`servers.StaticServer`, stopped after the test.
* ``s3_server`` → a :class:`servers.MotoS3` (``.endpoint``, ``.upload_tree(dir, bucket, prefix)``).
* ``oci_registry`` → a :class:`servers.DockerRegistry` (``.repo_url(repo)``, ``.http_url``); skipped
  with a reason when ``docker-registry`` is not installed.

The S3 and registry servers are started once per session (each takes a second or two); use a
fresh bucket or repository name per test.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.demo.build import DemoMirror, build_demo_mirror, create_demo_key
from jupyter_spackcache.trust import Keyring
from tests.support import servers


@pytest.fixture
def http_mirror() -> Iterator[Callable[[str | Path], servers.StaticServer]]:
    started: list[servers.StaticServer] = []

    def serve(directory: str | Path) -> servers.StaticServer:
        server = servers.StaticServer(directory)
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[servers.MotoS3]:
    if servers.moto_server_path() is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    workdir = servers.temp_workdir("s3")
    server = servers.MotoS3(workdir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def oci_registry() -> Iterator[servers.DockerRegistry]:
    if servers.registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    workdir = servers.temp_workdir("reg")
    registry = servers.DockerRegistry(workdir)
    try:
        yield registry
    finally:
        registry.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def signed_demo() -> Iterator[DemoMirror]:
    """The bundled demo stack, gcc-built and pushed to a signed v3 mirror, once per session.

    Read-only for tests: a test that tampers with a mirror copies it first.
    """
    gnupg = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    dest = Path(tempfile.mkdtemp(prefix="demo-mirror-")) / "mirror"
    try:
        with Keyring(gnupg) as keyring:
            key = create_demo_key(keyring, key_length=2048)  # 2048: fast, tests only
            yield build_demo_mirror(dest, keyring=keyring, signing_key=key)
    finally:
        shutil.rmtree(gnupg, ignore_errors=True)
        shutil.rmtree(dest.parent, ignore_errors=True)


@pytest.fixture
def run(home: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run the ``spackcache`` CLI in-process: ``run(*argv) -> (exit code, stdout, stderr)``.

    Needs a ``home`` fixture (each test module sets up its own ``$SPACKCACHE_HOME`` and host).
    """
    from jupyter_spackcache.cli import main

    def _run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()  # only this command's output
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


# ---- the fast run: `pytest -m "not slow"` ------------------------------------------------
#: fixtures that start a real server, build a signed mirror with gcc and gpg, or drive a browser
SLOW_FIXTURES = frozenset(
    {"http_mirror", "s3_server", "oci_registry", "signed_demo", "jp_fetch", "jp_serverapp"}
)
#: modules whose tests build real binaries, keyrings or mirrors in their own helpers
SLOW_MODULES = frozenset(
    {
        "test_demo",
        "test_install",
        "test_kernels",
        "test_magics",
        "test_mirror_readers",
        "test_push",
        "test_push_cli",
        "test_relocate",
        "test_trust",
        "test_trust_batch",
        "test_ui_browser",
        "test_ui_lock",
        "test_upstream",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs real servers, gcc, gpg or a browser, so that a unit-only run exists."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        if fixtures & SLOW_FIXTURES or module in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
