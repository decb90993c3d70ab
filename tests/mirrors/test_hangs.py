"""No hangs: a server that never answers or crawls ends the install after the configured
timeouts, with one line naming the URL; Ctrl-C stops the CLI within a second and leaves the
tree as it was, locks released."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from jupyter_spackcache.demo import broken
from jupyter_spackcache.demo.build import DemoMirror
from tests.support.servers import StaticServer

pytestmark = pytest.mark.slow

Run = Callable[..., tuple[int, str, str]]
ServeFn = Callable[[str | Path], StaticServer]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sh", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    for var in ("SPACKCACHE_PLATFORM", "SPACKCACHE_OS", "SPACKCACHE_TARGET", "SPACKCACHE_LIBC",
                "SPACKCACHE_INSTALL_ROOT", "SPACKCACHE_FAULT"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _add(run: Run, url: str, home: Path, **network: float) -> None:
    code, _, err = run("mirror", "add", "demo", url)
    assert code == 0, err
    code, _, err = run("keys", "trust", "--mirror", "demo", "--yes")
    assert code == 0, err
    if network:
        path = home / "config.yaml"
        config = yaml.safe_load(path.read_text()) or {}
        config["network"] = network
        path.write_text(yaml.safe_dump(config))


def _tree(home: Path) -> list[str]:
    """The installed tree, without the store's own bookkeeping (locks, partial downloads,
    staging: what a ``kill -9`` leaves, and the next install resumes or cleans)."""
    root = home / "opt"
    if not root.exists():
        return []
    paths = (p.relative_to(root) for p in root.rglob("*"))
    return sorted(str(p) for p in paths if p.parts[0] != ".spackcache")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ({"delay": 30.0}, r"timed out after 0\.5 s"),
        ({"trickle": 0.2}, r"too slow \(fewer than 1024 bytes in 0\.5 s\)"),
    ],
    ids=["never answers", "five bytes a second"],
)
def test_dead_or_crawling_server_ends_the_install(
    fault: dict[str, float],
    reason: str,
    signed_demo: DemoMirror,
    http_mirror: ServeFn,
    run: Run,
    home: Path,
) -> None:
    server = http_mirror(signed_demo.path)
    _add(run, server.url, home, timeout=0.5, attempts=2)
    before = _tree(home)
    server.fault("v3/manifests/spec/*", **fault)
    started = time.monotonic()
    code, _, err = run("install", "demo-tool", "--yes")
    assert time.monotonic() - started < 10
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"error: {server.url}/v3/manifests/spec/")
    assert re.search(reason + r"; gave up after 2 attempts$", first), first
    assert _tree(home) == before


def _spackcache(home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACKCACHE_")}
    env.update(SPACKCACHE_HOME=str(home), SPACKCACHE_SITE_CONFIG=str(home / "site.yaml"))
    command = [sys.executable, "-m", "jupyter_spackcache.cli", *args]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_ctrl_c_stops_within_a_second_and_changes_nothing(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(signed_demo.path)
    _add(run, server.url, home)
    before = _tree(home)
    tarballs = set()
    for name in ("libdemo-base", "libdemo-mid", "demo-tool"):
        tarball = broken.blob_path(signed_demo.path, name).relative_to(signed_demo.path)
        server.fault(tarball.as_posix(), trickle=0.01, whole_only=True)
        tarballs.add("/" + tarball.as_posix())
    server.reset_log()
    proc = _spackcache(home, "install", "demo-tool", "--yes")
    deadline = time.monotonic() + 30
    while not any(r.path in tarballs and "Range" not in r.headers
                  for r in server.requests):  # fmt: skip
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)  # well into the downloads
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - interrupted < 1.0
    assert proc.returncode != 0
    assert err.decode() == "error: interrupted\n"
    assert _tree(home) == before
    code, out, _ = run("find", "--json")
    assert code == 0 and json.loads(out) == []
    # the node locks were released: the next install claims and finishes every node at once
    server.clear_faults()
    started = time.monotonic()
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 0, err
    assert time.monotonic() - started < 20


def test_ctrl_c_while_planning_against_a_dead_server(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    """The metadata fetches hang on a server that never answers: Ctrl-C still ends at once."""
    server = http_mirror(signed_demo.path)
    _add(run, server.url, home)
    server.fault("v3/manifests/spec/*", delay=60.0)
    server.reset_log()
    proc = _spackcache(home, "install", "demo-tool", "--yes")
    deadline = time.monotonic() + 30
    while not any(p.startswith("/v3/manifests/spec/") for p in list(server.arrivals)):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    time.sleep(0.3)
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - interrupted < 1.0
    assert proc.returncode == 130 and err.decode() == "error: interrupted\n"
    assert _tree(home) == []
