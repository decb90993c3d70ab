"""Concurrent tarball downloads, each checked against its signed checksum before it is kept.

Every job streams into ``<dest>.part`` while a sha256 runs over the bytes; only a part whose
size and digest match the :class:`TarballRef` is renamed to ``dest``. Transient failures
(connection errors, 5xx, short bodies) are retried with back-off, resuming with ``Range`` from
the bytes already kept when the server answers 206. A digest mismatch is never retried: the
mirror serves other bytes than its signed metadata promises.

HTTP(S) and S3 mirrors go through one ``httpx.AsyncClient``; local and OCI mirrors through the
reader's own (blocking) chunk iterator, one chunk at a time in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import httpx

from jupyter_spackcache.errors import (
    InstallCancelled,
    InstallError,
    IntegrityError,
    MirrorError,
    NotFoundError,
    SpackCacheError,
    TooLarge,
)
from jupyter_spackcache.install.fetch.bulk import bulk_transport
from jupyter_spackcache.mirrors.base import MirrorReader, TarballRef, TarballRequest
from jupyter_spackcache.mirrors.failures import body_error, failed_request, failed_status
from jupyter_spackcache.mirrors.redirects import async_hooks
from jupyter_spackcache.mirrors.retry import Pace, Retrier, Transient, retrier_for
from jupyter_spackcache.mirrors.transport import content_length, range_headers, tls_context

#: at most this many progress calls per second per job, plus the final one
PROGRESS_RATE = 10.0
#: seconds the first job (the most urgent: the caller orders them) downloads alone, unless it
#: is done sooner. Its unpacking is usually what the end of an install waits for, and it
#: starts sooner with the whole bandwidth than when it shares it (BENCHMARKS.md). Slow
#: mirrors lose at most this much parallelism.
HEAD_START = 0.5

T = TypeVar("T")
Progress = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class DownloadJob:
    """One tarball to fetch: ``key`` (the DAG hash) names it in progress reports."""

    key: str
    reader: MirrorReader
    ref: TarballRef
    dest: Path
    #: bound on a download whose size is not signed (v2 mirrors), else an endless body fills
    #: the disk; a signed size is its own bound
    max_unsigned_bytes: int | None = None

    @property
    def part(self) -> Path:
        return self.dest.with_name(self.dest.name + ".part")

    @cached_property
    def request(self) -> TarballRequest:
        return self.reader.tarball_request(self.ref)


# --------------------------------------------------------------------------- pure checks


def size_error(where: str, received: int, expected: int, *, announced: bool = False) -> MirrorError:
    """Bytes that cannot be the signed tarball: the server lied or the transfer was cut."""
    what = "announced" if announced else "sent"
    return MirrorError(
        f"{where}: server {what} {received} bytes, the signed metadata says {expected}",
        hint="the mirror or a proxy serves a wrong Content-Length; retry later",
    )


def verify(ref: TarballRef, where: str, size: int, digest: str) -> SpackCacheError | None:
    """The problem with a finished download, or None when it is exactly the signed tarball."""
    if ref.size is not None and size != ref.size:
        return size_error(where, size, ref.size)
    if digest != ref.sha256.lower():
        return IntegrityError(
            f"{where}: sha256 of the {size} bytes received is {digest}, "
            f"the signed checksum is {ref.sha256}",
            hint="the mirror holds a damaged or tampered tarball; report it to its maintainers",
        )
    return None


def write_error(path: Path, exc: OSError) -> InstallError:
    """A local disk problem (full, read-only, permissions), not the mirror's fault."""
    hint = "free some space and run the command again" if exc.errno == errno.ENOSPC else None
    return InstallError(f"cannot write {path}: {exc.strerror or exc}", hint=hint)


def where(job: DownloadJob) -> str:
    """The URL a user would recognise for a job's tarball."""
    return job.request.shown


# --------------------------------------------------------------------------- the part file


class _Part:
    """``<dest>.part`` opened for appending, with the running sha256 of its whole content."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._hash = hashlib.sha256()
        self._file: Any = None

    def open(self) -> int:
        """Open for appending, hashing what a previous attempt left; return its size."""
        self._hash, self.size = hashlib.sha256(), 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a+b")
            self._file.seek(0)
            while chunk := self._file.read(1 << 20):
                self._hash.update(chunk)
                self.size += len(chunk)
        except OSError as exc:
            raise write_error(self.path, exc) from None
        return self.size

    def write(self, chunk: bytes) -> None:
        try:
            self._file.write(chunk)
        except OSError as exc:
            raise write_error(self.path, exc) from None
        self._hash.update(chunk)
        self.size += len(chunk)

    def restart(self) -> None:
        """Drop the bytes kept so far (the server ignored our Range)."""
        self._file.seek(0)
        self._file.truncate()
        self._hash, self.size = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- one run


class _Run:
    """What the jobs of one :func:`download_all` call share."""

    def __init__(
        self,
        *,
        progress: Progress,
        on_done: Callable[[DownloadJob], None] | None,
        cancel: threading.Event | None,
        retrier: Retrier,
        client: httpx.AsyncClient | None,
    ) -> None:
        self.progress = progress
        self.on_done = on_done
        self.cancel = cancel
        self.retrier = retrier
        self.client = client
        self._shown: dict[str, tuple[int, float]] = {}

    def check_cancel(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise InstallCancelled("download cancelled")

    def report(
        self, job: DownloadJob, done: int, total: int | None, *, final: bool = False
    ) -> None:
        """Throttled and never decreasing: a restarted download stays quiet until it passes
        what was already shown; the final call always gets through."""
        shown, when = self._shown.get(job.key, (-1, float("-inf")))
        now = time.monotonic()
        if done <= shown or (not final and now - when < 1.0 / PROGRESS_RATE):
            return
        self._shown[job.key] = (done, now)
        self.progress(job.key, done, total)


async def download_all(
    jobs: Sequence[DownloadJob],
    *,
    concurrency: int = 4,
    progress: Progress,
    on_done: Callable[[DownloadJob], None] | None = None,
    cancel: threading.Event | None = None,
    retries: int | None = None,
    retrier: Retrier | None = None,
) -> None:
    """Download and verify every job, at most ``concurrency`` at a time, in order (the first
    alone for up to :data:`HEAD_START` seconds).

    ``on_done(job)`` runs in the event-loop thread as soon as that job's file is verified and
    renamed, so extraction can start while others download; it must be quick and must hand
    work to other threads itself. ``progress(key, bytes_done, total)`` is called at most ~10
    times a second per job, never decreasing, with a final call where ``bytes_done`` is the
    size. The first failure stops the others. After a MirrorError the ``.part`` files of
    unfinished jobs with a signed size are kept, and the next call resumes them; after
    anything else (IntegrityError, InstallError for a full disk, InstallCancelled when
    ``cancel`` is set), and for unsized jobs always, they are removed. Verified files stay,
    whatever happens.

    Transient failures are retried under ``retrier`` (shared with the rest of the install;
    by default a fresh one, with ``retries`` retries per tarball when given).
    """
    retrier = retrier or retrier_for(retries)
    needs_http = any(job.request.url is not None for job in jobs)
    cas = {
        (j.request.url, j.request.ca_bundle) for j in jobs if j.request.url and j.request.ca_bundle
    }
    client = _client(concurrency, cas) if needs_http else None
    run = _Run(progress=progress, on_done=on_done, cancel=cancel, retrier=retrier, client=client)
    gate = asyncio.Semaphore(max(1, concurrency))
    finished: set[str] = set()
    first_done = asyncio.Event()

    async def one(job: DownloadJob, first: bool) -> None:
        if not first:  # see HEAD_START
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_done.wait(), HEAD_START)
        try:
            async with gate:
                await _download(job, run)
        finally:
            first_done.set()
        finished.add(job.key)

    async def watch() -> None:
        # notices `cancel` even while every job waits on a slow server
        while not all(task.done() for task in tasks):
            run.check_cancel()
            await asyncio.sleep(0.05)

    tasks = [asyncio.ensure_future(one(job, i == 0)) for i, job in enumerate(jobs)]
    try:
        await asyncio.gather(*tasks, watch())
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in jobs:
            # a part is kept for resuming only when its size is signed: an unsized one could
            # be the start of an endless body, and is never left behind
            resumable = isinstance(exc, MirrorError) and job.ref.size is not None
            if job.key not in finished and not resumable:
                job.part.unlink(missing_ok=True)
        raise
    finally:
        if client is not None:
            await client.aclose()


def _client(concurrency: int, cas: set[tuple[str, str]]) -> httpx.AsyncClient:
    """One client for every HTTP(S) job; its own connections read in bulk (:mod:`.bulk`).

    With a proxy in the environment (``HTTPS_PROXY``...) httpx's own transports are kept:
    httpx ignores the environment's proxies for a client given its own transport.
    """
    limits = httpx.Limits(max_connections=max(1, concurrency))
    context = tls_context()
    # a mirror with its own CA gets its own connections, verified against that CA
    mounts: dict[str, httpx.AsyncBaseTransport | None] = {
        _origin(url): httpx.AsyncHTTPTransport(verify=tls_context(ca), limits=limits)
        for url, ca in cas
    }
    if _environment_proxies():
        return httpx.AsyncClient(
            follow_redirects=True,
            limits=limits,
            verify=context,
            mounts=mounts or None,
            event_hooks=async_hooks(),
        )
    return httpx.AsyncClient(
        follow_redirects=True,
        limits=limits,
        verify=context,
        event_hooks=async_hooks(),
        transport=bulk_transport(ssl_context=context, limits=limits),
        mounts=mounts or None,
    )


def _origin(url: str) -> str:
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}"


def _environment_proxies() -> bool:
    import urllib.request  # only here: it imports http.client, email

    return any(k != "no" for k in urllib.request.getproxies_environment())


def download_blocking(jobs: Sequence[DownloadJob], **options: Any) -> None:
    """:func:`download_all` in a fresh event loop of the calling thread.

    Safe from a worker thread while another loop runs elsewhere (e.g. Jupyter's); not from
    a thread whose own loop is running.
    """
    asyncio.run(download_all(jobs, **options))


async def _already_there(job: DownloadJob) -> bool:
    """Whether ``dest`` is the verified tarball already (a previous run got that far)."""
    if not job.dest.is_file():
        return False
    size, digest = await _in_thread(_hash_file, job.dest)
    if verify(job.ref, where(job), size, digest) is None:
        return True
    job.dest.unlink(missing_ok=True)
    return False


def _hash_file(path: Path) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            sha.update(chunk)
            size += len(chunk)
    return size, sha.hexdigest()


async def _download(job: DownloadJob, run: _Run) -> None:
    run.check_cancel()
    if not await _already_there(job):
        await _fetch_verified(job, run)
    size = job.dest.stat().st_size
    run.report(job, size, size, final=True)
    if run.on_done is not None:
        run.on_done(job)


async def _fetch_verified(job: DownloadJob, run: _Run) -> None:
    """Attempts until the part verifies, then the atomic rename to ``dest``."""
    part = _Part(job.part)
    stale = job.part.exists()  # left by an earlier process: its bytes may be anything
    attempt = 0
    while True:
        try:
            await _in_thread(part.open)
            if job.ref.size is not None and part.size > job.ref.size:
                part.restart()
            if job.ref.size is None or part.size < job.ref.size:
                await _fetch_into(job, part, run)
            problem = verify(job.ref, where(job), part.size, part.hexdigest())
            if problem is None:
                break
            part.discard()
            if isinstance(problem, IntegrityError):
                if stale:  # blame the old or pieced-together part: start once from zero
                    stale = False
                    continue
                raise problem
            assert isinstance(problem, MirrorError)
            raise Transient(problem, keep=False)
        except Transient as failure:
            if failure.keep:
                stale = stale or part.size > 0  # resumed bytes: see the IntegrityError case
            else:
                part.discard()
            await _sleep(run.retrier.delay(attempt, failure, "tarball"), run)
            attempt += 1
        finally:
            part.close()
    os.replace(job.part, job.dest)


async def _in_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a worker thread; when cancelled, wait for the step to end first, so
    no thread still writes a ``.part`` file that the caller is about to remove."""
    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await asyncio.wait([future])
        raise


async def _sleep(seconds: float, run: _Run) -> None:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        run.check_cancel()
        await asyncio.sleep(min(left, 0.05))
    run.check_cancel()


async def _fetch_into(job: DownloadJob, part: _Part, run: _Run) -> None:
    if job.request.url is not None:
        assert run.client is not None
        await _fetch_http(run.client, job.request, job, part, run)
    else:
        await _fetch_iter(job, part, run)


def _take(job: DownloadJob, part: _Part, chunk: bytes, shown: str) -> None:
    """Append one chunk, refusing to grow past the signed size (an endless body)."""
    if job.ref.size is not None and part.size + len(chunk) > job.ref.size:
        raise Transient(size_error(shown, part.size + len(chunk), job.ref.size), keep=False)
    cap = job.max_unsigned_bytes
    if job.ref.size is None and cap is not None and part.size + len(chunk) > cap:
        part.discard()
        raise TooLarge(
            f"{shown}: the download is larger than {cap} bytes and its size is not signed; "
            "nothing of it was kept",
            hint="if the package really is that large, raise "
            "limits.max_unsigned_download_bytes in config.yaml",
        )
    part.write(chunk)


async def _fetch_http(
    client: httpx.AsyncClient,
    request: TarballRequest,
    job: DownloadJob,
    part: _Part,
    run: _Run,
) -> None:
    """One GET (with ``Range`` when resuming) appended to ``part``."""
    assert request.url is not None
    shown, offset, timeout = request.shown, part.size, request.timeout
    headers = {**dict(request.headers), **range_headers(offset)}
    try:
        async with client.stream("GET", request.url, headers=headers, timeout=timeout) as response:
            status = response.status_code
            if status == 416 and offset:
                return  # nothing past what we have: let the checks decide
            if status not in (200, 206):
                raise failed_status(shown, response, s3=request.s3)
            if status == 200 and offset:
                part.restart()  # the server ignored Range: start over
            announced = content_length(response)
            expected = None if job.ref.size is None else job.ref.size - part.size
            if announced is not None and expected is not None and announced != expected:
                total = announced + part.size
                error = size_error(shown, total, job.ref.size or 0, announced=True)
                raise Transient(error, keep=True)
            pace = Pace(run.retrier.policy)
            try:
                # unsized: a chunker would buffer, and a drop would lose the buffered bytes
                async for chunk in response.aiter_raw():
                    run.check_cancel()
                    if pace.slow(len(chunk)):
                        raise Transient(pace.error(shown), keep=True)
                    _take(job, part, chunk, shown)
                    run.report(job, part.size, job.ref.size)
            except httpx.HTTPError as exc:
                received = response.num_bytes_downloaded
                error = body_error(shown, exc, received, announced, timeout)
                # what arrived is kept, whether the connection was reset or closed early (a
                # proxy cutting transfers); a wrong whole fails the digest and starts over
                raise Transient(error, keep=True) from None
    except httpx.HTTPError as exc:
        raise failed_request(shown, exc, timeout=timeout) from None


async def _fetch_iter(job: DownloadJob, part: _Part, run: _Run) -> None:
    """The reader's own chunk iterator (local files, OCI with its tokens), pumped in a thread
    that also writes and hashes, so the event loop never blocks on disk or network."""
    shown = where(job)

    def pump(chunks: Any) -> bool:
        chunk: bytes | None = next(chunks, None)
        if chunk is None:
            return False
        _take(job, part, chunk, shown)
        return True

    chunks = None
    try:
        chunks = await _in_thread(lambda: job.reader.open_tarball(job.ref, offset=part.size))
        while True:
            run.check_cancel()
            if not await _in_thread(pump, chunks):
                return
            run.report(job, part.size, job.ref.size)
    except NotFoundError:
        raise
    except MirrorError as error:  # the reader mapped it already: retry what is not "absent"
        raise Transient(error, keep=True) from None
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await _in_thread(close)
