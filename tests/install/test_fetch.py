"""Tarball downloads against real servers: concurrency, retries, resume, lies, tampering,
cancel; and the build-prefix peek at a tarball's first 64 KiB."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import itertools
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache.config import MirrorConfig
from jupyter_spackcache.demo.broken import tamper_tarball
from jupyter_spackcache.demo.build import DemoMirror, build_demo_mirror
from jupyter_spackcache.errors import InstallCancelled, IntegrityError, MirrorError
from jupyter_spackcache.formats.prefixpeek import build_prefix_from_head
from jupyter_spackcache.formats.specfile import decode_specfile
from jupyter_spackcache.install.fetch import (
    DownloadJob,
    download,
    download_blocking,
    peek_build_prefix,
)
from jupyter_spackcache.install.fetch.bulk import READ_SIZE
from jupyter_spackcache.mirrors import oci
from jupyter_spackcache.mirrors.base import MirrorReader, TarballRef
from jupyter_spackcache.mirrors.detect import open_reader
from jupyter_spackcache.mirrors.transport import open_transport
from jupyter_spackcache.mirrors.v3 import V3Reader
from tests.support import ocicache, servers
from tests.support.servers import V2_UNSIGNED, StaticServer

ServeFn = Callable[[str | Path], StaticServer]
V2_TARBALLS = sorted((V2_UNSIGNED / "build_cache").rglob("*.spack"))


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoMirror:
    return build_demo_mirror(tmp_path_factory.mktemp("demo") / "mirror", keyring=None)


def demo_jobs(reader: MirrorReader, mirror: DemoMirror, dest: Path) -> list[DownloadJob]:
    jobs = []
    for pkg in mirror.specs:
        dag = decode_specfile(pkg.specfile)
        record = reader.fetch_spec(dag.root, dag)
        jobs.append(DownloadJob(pkg.hash, reader, record.tarball, dest / f"{pkg.name}.tar.gz"))
    return jobs


def http_reader(url: str, *, timeout: float = 10.0) -> MirrorReader:
    return open_reader(MirrorConfig(name="m", url=url, unsigned=True), None, timeout=timeout)


def blob_path(job: DownloadJob) -> str:
    """The server path of a v3 tarball blob."""
    return "/" + job.ref.location


class Recorder:
    """Thread-safe log of progress and completion calls."""

    def __init__(self) -> None:
        self.progress: dict[str, list[tuple[int, int | None, float]]] = {}
        self.done: list[tuple[str, float]] = []
        self.loop_threads: set[int] = set()

    def on_progress(self, key: str, done: int, total: int | None) -> None:
        self.progress.setdefault(key, []).append((done, total, time.monotonic()))

    def on_done(self, job: DownloadJob) -> None:
        self.loop_threads.add(threading.get_ident())
        self.done.append((job.key, time.monotonic()))


def run(jobs: list[DownloadJob], rec: Recorder | None = None, **options: Any) -> Recorder:
    rec = rec or Recorder()
    download_blocking(jobs, progress=rec.on_progress, on_done=rec.on_done, **options)
    return rec


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def assert_verified(job: DownloadJob) -> None:
    data = job.dest.read_bytes()
    assert hashlib.sha256(data).hexdigest() == job.ref.sha256
    assert job.ref.size is None or len(data) == job.ref.size
    assert not job.part.exists()


def big_reader(url: str) -> MirrorReader:
    """A v3 reader over a real transport, for one large file outside any layout."""
    return V3Reader(open_transport(url), MirrorConfig(name="big", url=url, unsigned=True), None)


@pytest.fixture
def big(tmp_path: Path) -> tuple[Path, TarballRef]:
    root = tmp_path / "big"
    root.mkdir()
    data = os.urandom(6 * 1024 * 1024)
    (root / "big.bin").write_bytes(data)
    return root, TarballRef("big.bin", hashlib.sha256(data).hexdigest(), len(data))


# --------------------------------------------------------------------------- happy paths


def test_parallel_download_of_the_demo_mirror(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    jobs = demo_jobs(http_reader(server.url), demo, tmp_path / "dl")
    slow = jobs[-1]  # (the first one has a head start: see the next test)
    server.fault(blob_path(slow).lstrip("/"), delay=0.8)
    rec = run(jobs, concurrency=4)
    for job in jobs:
        assert_verified(job)
        reports = rec.progress[job.key]
        dones = [done for done, _, _ in reports]
        assert dones == sorted(dones) and len(set(dones)) == len(dones)  # monotonic
        assert reports[-1][:2] == (job.ref.size, job.ref.size)  # final == size
    # each job is handed over when it is verified, not when the batch ends
    order = [key for key, _ in rec.done]
    assert sorted(order) == sorted(j.key for j in jobs) and order[-1] == slow.key
    first_done = rec.done[0][1]
    assert rec.done[-1][1] - first_done > 0.4
    assert rec.loop_threads == {threading.get_ident()}  # the loop ran in this thread
    assert leftovers(tmp_path / "dl") == sorted(j.dest.name for j in jobs)


@pytest.mark.parametrize(("delay", "first_finishes_first"), [(0.2, True), (1.2, False)])
def test_the_first_job_downloads_alone_for_a_while(
    demo: DemoMirror,
    http_mirror: ServeFn,
    tmp_path: Path,
    delay: float,
    first_finishes_first: bool,
) -> None:
    """The most urgent tarball gets the bandwidth to itself, for HEAD_START seconds at most."""
    from jupyter_spackcache.install.fetch.download import HEAD_START

    assert 0.2 < HEAD_START < 1.2
    server = http_mirror(demo.path)
    jobs = demo_jobs(http_reader(server.url), demo, tmp_path / "dl")
    server.fault(blob_path(jobs[0]).lstrip("/"), delay=delay)
    rec = run(jobs, concurrency=4)
    order = [key for key, _ in rec.done]
    assert (order[0] == jobs[0].key) is first_finishes_first
    assert sorted(order) == sorted(j.key for j in jobs)


def test_file_mirror_and_already_downloaded(demo: DemoMirror, tmp_path: Path) -> None:
    reader = http_reader(demo.path.as_uri())
    jobs = demo_jobs(reader, demo, tmp_path / "dl")
    run(jobs, concurrency=2)
    for job in jobs:
        assert_verified(job)
    before = {j.dest: j.dest.stat().st_mtime_ns for j in jobs}
    rec = run(jobs)  # verified files are kept, not fetched again
    assert {j.dest: j.dest.stat().st_mtime_ns for j in jobs} == before
    assert len(rec.done) == len(jobs)


def test_s3_mirror(demo: DemoMirror, s3_server: servers.MotoS3, tmp_path: Path) -> None:
    url = s3_server.upload_tree(demo.path, "fetch-test", "cache")
    mirror = MirrorConfig(name="s3", url=url, unsigned=True, s3_endpoint=s3_server.endpoint)
    jobs = demo_jobs(open_reader(mirror, None), demo, tmp_path)
    run(jobs)
    for job in jobs:
        assert_verified(job)


def test_oci_registry_with_tokens(oci_registry: servers.DockerRegistry, tmp_path: Path) -> None:
    entries = ocicache.v2_entries(V2_UNSIGNED)[:2]
    ocicache.push_spack_oci_cache(oci_registry.repo_url("spack/fetch"), entries)
    with servers.RegistryProxy(oci_registry.http_url, require_token=True) as proxy:
        reader = oci.OciReader(proxy.repo_url("spack/fetch"))
        jobs = []
        for i, (_, tarball) in enumerate(entries):
            sha = hashlib.sha256(tarball).hexdigest()
            ref = TarballRef(f"sha256:{sha}", sha, len(tarball))
            jobs.append(DownloadJob(f"k{i}", reader, ref, tmp_path / f"{i}.tar.gz"))
        run(jobs)
        for job, (_, tarball) in zip(jobs, entries, strict=True):
            assert job.dest.read_bytes() == tarball
        assert proxy.tokens_issued >= 1
        with tarfile.open(fileobj=io.BytesIO(entries[0][1])) as tar:
            expected = "/" + _spack_root(tar)
        proxy.reset_log()
        assert peek_build_prefix(reader, jobs[0].ref) == expected
        ranged = [r for r in proxy.requests if r.headers.get("Range") == "bytes=0-65535"]
        assert ranged and all(r.status == 206 for r in ranged)
        reader.close()


def test_many_chunks_throttled_progress(
    big: tuple[Path, TarballRef], http_mirror: ServeFn, tmp_path: Path
) -> None:
    root, ref = big
    server = http_mirror(root)
    job = DownloadJob("big", big_reader(server.url), ref, tmp_path / "big.bin")
    rec = run([job])
    assert_verified(job)
    reports = rec.progress["big"]
    assert reports[-1][:2] == (ref.size, ref.size)
    times = [t for _, _, t in reports[:-1]]
    # at most ~10 a second, plus the final one
    assert all(b - a >= 0.09 for a, b in itertools.pairwise(times))


def test_downloads_read_the_socket_in_bulk(
    big: tuple[Path, TarballRef],
    http_mirror: ServeFn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpcore alone hands over at most 64 KiB per read; the download client's connections
    read up to 256 KiB (fewer trips through the HTTP stack per byte)."""
    sizes: list[int] = []
    real_write = download._Part.write

    def spy(part: download._Part, chunk: bytes) -> None:
        sizes.append(len(chunk))
        real_write(part, chunk)

    monkeypatch.setattr(download._Part, "write", spy)
    root, ref = big
    job = DownloadJob("big", big_reader(http_mirror(root).url), ref, tmp_path / "big.bin")
    run([job])
    assert_verified(job)
    assert sum(sizes) == ref.size
    assert max(sizes) > 64 * 1024
    assert max(sizes) <= READ_SIZE


def test_download_blocking_from_a_worker_while_a_loop_runs(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    jobs = demo_jobs(http_reader(server.url), demo, tmp_path)

    async def main() -> Recorder:
        return await asyncio.to_thread(run, jobs)

    rec = asyncio.run(main())
    assert len(rec.done) == len(jobs)
    assert threading.get_ident() not in rec.loop_threads


# --------------------------------------------------------------------------- faults


def test_server_error_is_retried(demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url), demo, tmp_path)[:1]
    server.fault(blob_path(job).lstrip("/"), status=500, times=1)
    run([job])
    assert_verified(job)
    statuses = [r.status for r in server.requests if r.path == blob_path(job)]
    assert statuses == [500, 200]


def test_persistent_server_error_fails_with_one_line(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url), demo, tmp_path)[:1]
    server.fault(blob_path(job).lstrip("/"), status=503)
    with pytest.raises(MirrorError, match=r"server error \(HTTP 503\); gave up after 2 attempts$"):
        run([job], retries=1)
    assert server.count(blob_path(job)) == 2
    assert leftovers(tmp_path) == [] or leftovers(tmp_path) == [job.part.name]
    assert not job.dest.exists()


def test_drop_mid_body_resumes_with_range(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url), demo, tmp_path)[:1]
    server.fault(blob_path(job).lstrip("/"), drop_after=1000, times=1)
    run([job])
    assert_verified(job)
    log = [r for r in server.requests if r.path == blob_path(job)]
    assert [r.status for r in log] == [200, 206]
    assert "Range" not in log[0].headers and log[1].headers["Range"] == "bytes=1000-"


def test_stale_part_from_an_earlier_run_is_resumed(
    big: tuple[Path, TarballRef], http_mirror: ServeFn, tmp_path: Path
) -> None:
    root, ref = big
    server = http_mirror(root)
    job = DownloadJob("big", big_reader(server.url), ref, tmp_path / "big.bin")
    job.part.write_bytes((root / "big.bin").read_bytes()[:12345])
    run([job])
    assert_verified(job)
    (request,) = server.requests
    assert request.headers["Range"] == "bytes=12345-" and request.status == 206


def test_garbage_part_from_an_earlier_run_is_not_called_tampering(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url), demo, tmp_path)[:1]
    job.part.write_bytes(b"\0" * 100)
    run([job])
    assert_verified(job)
    assert [r.headers.get("Range") for r in server.requests if r.path == blob_path(job)] == [
        "bytes=100-",
        None,
    ]


@pytest.mark.parametrize("lie", [+500, -500])
def test_lying_content_length_is_refused(
    lie: int, demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url), demo, tmp_path)[:1]
    server.fault(blob_path(job).lstrip("/"), lie_length=lie)
    size = job.ref.size
    assert size is not None
    with pytest.raises(MirrorError) as info:
        run([job], retries=1)
    assert str(info.value) == (
        f"{server.url}{blob_path(job)}: server announced {size + lie} bytes, "
        f"the signed metadata says {size}; gave up after 2 attempts"
    )
    assert not job.dest.exists()


def test_lie_without_signed_size_is_still_caught(http_mirror: ServeFn, tmp_path: Path) -> None:
    """v2 metadata has no size: a longer announcement is a short body, resumed (here: nothing
    is left, 416) and checked; a shorter one a truncated tarball whose checksum cannot match."""
    server = http_mirror(V2_UNSIGNED)
    reader = http_reader(server.url)
    tarball = V2_TARBALLS[0]
    rel = tarball.relative_to(V2_UNSIGNED).as_posix()
    ref = TarballRef(rel, hashlib.sha256(tarball.read_bytes()).hexdigest(), None)
    job = DownloadJob("k", reader, ref, tmp_path / "t.tar.gz")
    size = tarball.stat().st_size
    server.fault(rel, lie_length=100)
    run([job], retries=1)
    assert job.dest.read_bytes() == tarball.read_bytes()
    assert [r.status for r in server.requests if r.path == "/" + rel] == [200, 416]
    job.dest.unlink()
    server.fault(rel, lie_length=-100)
    with pytest.raises(IntegrityError, match=rf"sha256 of the {size - 100} bytes received is"):
        run([job], retries=1)
    assert leftovers(tmp_path) == []


def test_corrupt_byte_is_integrity_error_without_retry(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    jobs = demo_jobs(http_reader(server.url), demo, tmp_path / "dl")
    bad = jobs[1]
    server.fault(blob_path(bad).lstrip("/"), corrupt=True)
    with pytest.raises(IntegrityError) as info:
        run(jobs, concurrency=1)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{server.url}{blob_path(bad)}: sha256 of")
    assert message.endswith(f"the signed checksum is {bad.ref.sha256}")
    assert server.count(blob_path(bad)) == 1  # tampering is not retried
    assert not bad.dest.exists() and not bad.part.exists()
    assert not any(name.endswith(".part") for name in leftovers(tmp_path / "dl"))


def test_tampered_file_mirror(demo: DemoMirror, tmp_path: Path) -> None:
    copy = tmp_path / "mirror"
    shutil.copytree(demo.path, copy)
    name = demo.specs[0].name
    tamper_tarball(copy, name)
    jobs = [j for j in demo_jobs(http_reader(copy.as_uri()), demo, tmp_path / "dl")]
    (job,) = [j for j in jobs if j.dest.name.startswith(name + ".")]
    with pytest.raises(IntegrityError, match="the signed checksum is "):
        run([job])
    assert leftovers(tmp_path / "dl") == []


def test_timeout(demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url, timeout=0.3), demo, tmp_path)[:1]
    server.fault(blob_path(job).lstrip("/"), delay=1.0)
    started = time.monotonic()
    with pytest.raises(MirrorError, match=r"timed out after 0\.3 s; gave up after 2 attempts$"):
        run([job], retries=1)
    assert time.monotonic() - started < 5
    assert not job.dest.exists()


def test_cancel_while_waiting_leaves_no_files(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    jobs = demo_jobs(http_reader(server.url), demo, tmp_path / "dl")
    for job in jobs:
        server.fault(blob_path(job).lstrip("/"), delay=1.5)
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(InstallCancelled, match=r"^download cancelled$"):
        run(jobs, cancel=cancel)
    assert time.monotonic() - started < 1.2
    assert leftovers(tmp_path / "dl") == []


def test_cancel_mid_body_leaves_no_files(
    big: tuple[Path, TarballRef], http_mirror: ServeFn, tmp_path: Path
) -> None:
    root, ref = big
    server = http_mirror(root)
    job = DownloadJob("big", big_reader(server.url), ref, tmp_path / "dl" / "big.bin")
    cancel = threading.Event()
    rec = Recorder()

    def progress(key: str, done: int, total: int | None) -> None:
        rec.on_progress(key, done, total)
        cancel.set()

    with pytest.raises(InstallCancelled):
        download_blocking([job], progress=progress, cancel=cancel)
    assert 0 < rec.progress["big"][-1][0] < (ref.size or 0)
    assert leftovers(tmp_path / "dl") == []


def test_cancel_file_mirror(big: tuple[Path, TarballRef], tmp_path: Path) -> None:
    root, ref = big
    job = DownloadJob("big", big_reader(root.as_uri()), ref, tmp_path / "dl" / "big.bin")
    cancel = threading.Event()
    with pytest.raises(InstallCancelled):
        download_blocking([job], progress=lambda *_: cancel.set(), cancel=cancel)
    assert leftovers(tmp_path / "dl") == []


# --------------------------------------------------------------------------- peek


def _spack_root(tar: tarfile.TarFile) -> str:
    names = [m.name for m in tar.getmembers() if m.name.endswith(".spack/binary_distribution")]
    return min(names, key=len).rsplit("/.spack/", 1)[0]


@pytest.mark.parametrize("tarball", V2_TARBALLS, ids=lambda p: p.name[:40])
def test_peek_fixture_tarballs(tarball: Path, http_mirror: ServeFn) -> None:
    with tarfile.open(tarball) as tar:
        expected = "/" + _spack_root(tar)
    ref = TarballRef(tarball.relative_to(V2_UNSIGNED).as_posix(), "0" * 64)
    assert peek_build_prefix(http_reader(V2_UNSIGNED.as_uri()), ref) == expected
    server = http_mirror(V2_UNSIGNED)
    assert peek_build_prefix(http_reader(server.url), ref) == expected
    (request,) = [r for r in server.requests if r.method == "GET"]
    assert request.headers["Range"] == "bytes=0-65535" and request.status == 206


def test_peek_demo_tarballs(demo: DemoMirror) -> None:
    reader = http_reader(demo.path.as_uri())
    for job in demo_jobs(reader, demo, Path("/nonexistent")):
        blob = demo.path / job.ref.location
        with tarfile.open(blob) as tar:
            expected = "/" + _spack_root(tar)
        assert peek_build_prefix(reader, job.ref) == expected


def _tgz(entries: Sequence[tuple[str, bytes | None]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A gzipped tar of (name, file data or None for a directory), in the given order."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=fmt) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


LONG = "opt/" + "p" * 120 + "/zlib-1.3-" + "a" * 32


def test_peek_rules_on_synthetic_heads() -> None:
    big = os.urandom(200_000)  # incompressible: .spack lies beyond the 64 KiB head
    parents = [("opt", None), ("opt/store", None), ("opt/store/zlib-1.3-abc", None)]
    layout2 = [*parents, ("opt/store/zlib-1.3-abc/README", big)]
    layout2 += [("opt/store/zlib-1.3-abc/.spack", None)]
    head = _tgz(layout2)[:65536]
    assert build_prefix_from_head(head) == "/opt/store/zlib-1.3-abc"
    # GNU long names and PAX long names both count
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        gnu = [("opt", None), (LONG.rsplit("/", 1)[0], None), (LONG, None)]
        gnu += [(LONG + "/.spack", None)]
        assert build_prefix_from_head(_tgz(gnu, fmt)) == "/" + LONG
    # Spack < 0.21 rooted tarballs at the prefix basename: where it was built is unknown
    old = [("zlib-1.3-abc", None), ("zlib-1.3-abc/.spack", None)]
    assert build_prefix_from_head(_tgz(old)) is None
    # no file of its own, first subdirectory sorts before ".spack": could be a subdirectory
    odd = [*parents, ("opt/store/zlib-1.3-abc/-x", None), ("opt/store/zlib-1.3-abc/-x/f", big)]
    assert build_prefix_from_head(_tgz(odd)[:65536]) is None
    # two branches before any file, absolute or escaping names, not gzip: unsure
    branch = [("opt", None), ("opt/a", None), ("opt/b", None), ("opt/b/f", b"x")]
    assert build_prefix_from_head(_tgz(branch)) is None
    assert build_prefix_from_head(_tgz([("opt/../etc/.spack", None)])) is None
    assert build_prefix_from_head(b"not a gzip stream") is None
    assert build_prefix_from_head(b"") is None
    # a damaged header is not trusted
    raw = bytearray(gzip.decompress(_tgz(layout2)))
    raw[10] ^= 0xFF
    assert build_prefix_from_head(gzip.compress(bytes(raw))) is None


def test_transport_failure_keeps_the_part_for_the_next_call(
    demo: DemoMirror, http_mirror: ServeFn, tmp_path: Path
) -> None:
    server = http_mirror(demo.path)
    (job,) = demo_jobs(http_reader(server.url), demo, tmp_path)[:1]
    server.fault(blob_path(job).lstrip("/"), drop_after=1000)
    with pytest.raises(MirrorError, match=r"connection dropped after 1000 of \d+ bytes$"):
        run([job], retries=0)
    assert job.part.stat().st_size == 1000 and not job.dest.exists()
    server.clear_faults()
    server.reset_log()
    run([job])
    assert_verified(job)
    (request,) = server.requests
    assert request.headers["Range"] == "bytes=1000-" and request.status == 206


_FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from jupyter_spackcache.install.fetch import DownloadJob, download_blocking
from jupyter_spackcache.mirrors.base import TarballRef
from tests.install.test_fetch import big_reader
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
root, dest, sha, size = sys.argv[1:]
job = DownloadJob("big", big_reader(Path(root).as_uri()), TarballRef("big.bin", sha, int(size)),
                  Path(dest))
try:
    download_blocking([job], progress=lambda *_: None)
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_disk_error_is_one_line_and_leaves_nothing(
    big: tuple[Path, TarballRef], tmp_path: Path
) -> None:
    root, ref = big
    dest = tmp_path / "dl" / "big.bin"
    argv = [str(root), str(dest), ref.sha256, str(ref.size)]
    out = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, *argv],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
        check=True,
    ).stdout
    assert out == f"InstallError cannot write {dest}.part: File too large\n"
    assert leftovers(tmp_path / "dl") == []


def test_peek_header_checksums_signed_and_unsigned() -> None:
    """Old tars summed header bytes as signed chars: both sums are accepted, nothing else."""
    from jupyter_spackcache.formats.prefixpeek import _checksum_ok

    header = bytearray(tarfile.TarInfo("opt/caf\u00e9/x").tobuf(tarfile.USTAR_FORMAT)[:512])
    assert _checksum_ok(bytes(header))  # Python writes the unsigned sum
    blanked = header[:148] + b" " * 8 + header[156:]
    signed = sum(b - 256 if b > 127 else b for b in blanked)
    assert signed != sum(blanked)  # the name has bytes >= 128
    header[148:156] = b"%06o\0 " % signed
    assert _checksum_ok(bytes(header))
    header[148:156] = b"%06o\0 " % (signed + 1)
    assert not _checksum_ok(bytes(header))
