"""Every kind of request an install makes survives every transient fault, under one policy.

A real HTTP server (``tests/support/servers.py``) injects each fault on each kind of request: index
manifest and blob, spec manifests and blobs, key manifests and blobs, build-prefix peeks
(``Range`` reads of tarballs) and tarballs. ``spackcache install`` must succeed, retry the
failed requests (and nothing else), and say how many it retried in ``--json``. Permanent
failures (403, 404) fail at once.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from tests.support.servers import StaticServer

pytestmark = pytest.mark.slow

Run = Callable[..., tuple[int, str, str]]
ServeFn = Callable[[str | Path], StaticServer]

#: path globs of each kind of request in a v3 mirror (blobs are told apart by the request)
KINDS = {
    "index manifest": "v3/manifests/index/*",
    "spec manifest": "v3/manifests/spec/*",
    "key manifest": "v3/manifests/key/*",
    "blobs (index, specs, keys, peeks, tarballs)": "blobs/*",
}
FAULTS: dict[str, dict[str, Any]] = {
    "cut halfway": {"cut_half": True},
    "connection reset": {"drop_after": 10},
    "503 with Retry-After": {"status": 503, "retry_after": "0"},
    "429": {"status": 429},
    "502": {"status": 502},
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sn", dir="/tmp"))
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    for var in ("SPACKCACHE_PLATFORM", "SPACKCACHE_OS", "SPACKCACHE_TARGET", "SPACKCACHE_LIBC",
                "SPACKCACHE_INSTALL_ROOT", "SPACKCACHE_FAULT"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _add(run: Run, url: str) -> None:
    code, _, err = run("mirror", "add", "demo", url)
    assert code == 0, err
    code, _, err = run("keys", "trust", "--mirror", "demo", "--yes")
    assert code == 0, err


def _install_json(run: Run, *specs: str) -> dict[str, Any]:
    code, out, err = run("install", *specs, "--yes", "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)["result"]
    return result


def test_first_transfer_of_every_blob_cut_halfway(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    """The issue's reproduction: full Content-Length announced, half the body sent, closed."""
    server = http_mirror(signed_demo.path)
    server.fault("blobs/*", cut_half=True, times=1, per_path=True)
    server.fault("v3/manifests/*", cut_half=True, times=1, per_path=True)
    _add(run, server.url)
    result = _install_json(run, "demo-tool")
    assert result["installed"] and result["retries"] > 0
    assert result["retries_by_kind"].get("peek", 0) >= 1  # the peek was the first transfer


def test_cut_tarball_resumes_with_range(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(signed_demo.path)
    _add(run, server.url)
    server.fault("blobs/*", cut_half=True, times=1, per_path=True, whole_only=True)
    result = _install_json(run, "demo-tool")
    assert result["retries_by_kind"].get("tarball", 0) >= 1
    resumed = [r for r in server.requests if r.headers.get("Range", "").endswith("-")]
    assert resumed and all(r.status == 206 for r in resumed)
    assert all(not r.headers["Range"].startswith("bytes=0-") for r in resumed)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_each_fault_on_each_kind_of_request(
    kind: str, fault: str, signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(signed_demo.path)
    server.fault(KINDS[kind], times=1, per_path=True, **FAULTS[fault])
    _add(run, server.url)  # the index and the keys go through the fault too
    result = _install_json(run, "demo-tool")
    assert result["installed"]
    prefix = "/" + KINDS[kind].rstrip("*")
    asked = [r.path for r in server.requests if r.path.startswith(prefix)]
    assert len(asked) > len(set(asked))  # failed requests were asked again
    code, out, _ = run("find", "--json")
    assert code == 0 and any(r["name"] == "demo-tool" for r in json.loads(out))


@pytest.mark.parametrize("status", [403, 404])
def test_permanent_failures_are_not_retried(
    status: int, signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    server = http_mirror(signed_demo.path)
    _add(run, server.url)
    server.fault("v3/manifests/spec/*", status=status)
    code, _, err = run("install", "demo-tool", "--yes")
    assert code == 1 and err.startswith("error: ") and str(status) in err
    assert "gave up" not in err
    asked = [r.path for r in server.requests if r.path.startswith("/v3/manifests/spec/")]
    assert len(asked) == len(set(asked))  # each asked once


def test_server_task_records_the_retries(
    signed_demo: DemoMirror, http_mirror: ServeFn, run: Run, home: Path
) -> None:
    """What the REST task shows: the worker's events folded into the task record."""
    import threading
    import time

    from jupyter_spackcache.config import load_config
    from jupyter_spackcache.install.progress import ProgressEvent
    from jupyter_spackcache.server.tasks.install import run_install
    from jupyter_spackcache.server.tasks.model import Task, apply_event

    server = http_mirror(signed_demo.path)
    _add(run, server.url)
    server.fault("blobs/*", cut_half=True, times=1, per_path=True, whole_only=True)
    task = Task("t1", ("demo-tool",), False, str(home / "opt"), time.time())

    def progress(event: ProgressEvent) -> None:
        nonlocal task
        task, _ = apply_event(task, event)

    run_install(load_config(), ["demo-tool"], kernel=False, root=str(home / "opt"),
                progress=progress, cancel=threading.Event())  # fmt: skip
    record = Task.from_json(task.to_json())
    assert record.retries > 0 and record.to_json()["retries"] == record.retries
    assert any("transient network failure(s) retried" in line for line in record.log)


def test_oci_tokens_manifests_and_blobs_are_retried(tmp_path: Path) -> None:
    """A registry with a token service whose every first answer per path is 503 or 429."""
    import asyncio

    from jupyter_spackcache.install.fetch import DownloadJob, download_all
    from jupyter_spackcache.mirrors import oci
    from jupyter_spackcache.mirrors.retry import retrier_for
    from tests.support import ocicache, servers

    if servers.registry_binary() is None:
        pytest.skip("needs docker-registry")
    registry = servers.DockerRegistry(tmp_path / "reg")
    try:
        with servers.RegistryProxy(registry.http_url, require_token=True) as proxy:
            url = proxy.repo_url("spack/flaky")
            entries = ocicache.v2_entries()[:1]
            ocicache.push_spack_oci_cache(url, entries)
            proxy.fail_first = [("/token", 503), ("/manifests/", 429), ("/blobs/", 502)]
            retrier = retrier_for()
            reader = oci.OciReader(url, retrier=retrier)
            assert reader.fetch_index(known_hash=None, etag=None).data
            node = entries[0][0]["spec"]["nodes"][0]
            record = reader.fetch_spec_by_tag(node["name"], node["version"], node["hash"])
            assert reader.read_head(record.tarball, 512)
            job = DownloadJob("k", reader, record.tarball, tmp_path / "t.tar.gz")
            asyncio.run(download_all([job], progress=lambda *a: None, retrier=retrier))
            assert job.dest.read_bytes() == entries[0][1]
            assert {"token", "manifest", "index", "metadata"} <= set(retrier.by_kind)
            failed = [r.path for r in proxy.requests if r.status in (429, 502, 503)]
            assert any(p.startswith("/token") for p in failed)
            reader.close()
    finally:
        registry.stop()
