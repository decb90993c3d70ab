"""Benchmark ``spackcache install`` of a 61-node stack against the physical floor.

In one run, over a real HTTP server on 127.0.0.1 serving the mirror of ``synth_stack.py``
(``mirror_server.py``: Python's ``http.server`` set up as real mirrors' servers are):

* floor: the tarballs are already local; a bare parallel ``tar -xzf`` of all of them
  (one ``tar`` per tarball, ``nproc`` at a time) into a fresh directory on the same disk;
* installer: ``spackcache install wrf --yes -j N`` end to end (N: the CLI default, one per
  CPU, unless ``--jobs`` says otherwise; a subprocess with a fresh
  ``SPACKCACHE_HOME``; adding the mirror and trusting its key happen before, untimed):
  index, resolve, signature checks, download + sha256, extraction, relocation, database;
* spack: ``spack install --cache-only`` when ``spack`` is on PATH.

Each is repeated (``--repeat``, default 4), floor and installer back to back in each round,
the one going first alternating; the verdict against the target (<= 1.3x) is the median of the
rounds' installer/floor ratios (best/best and median/median are printed too). Page cache is
warm for both (the tarballs were just written or read). Before every timed run ``sync`` runs
and the disks are left to go idle (:func:`settle`), so no run pays for an earlier run's
writeback; and no timed run follows the deletion of an earlier run's tree (all are deleted at
the end: on a disk mounted with ``discard``, deleting 700 MB slows the file creation of the
next seconds by 15-25%). A last, untimed-for-the-ratio run through the Python API breaks the
installer's wall time and CPU time down by stage (``--profile FILE`` also writes a cProfile
of that run).

    python benchmarks/bench_install.py --work /tmp/synth-stack
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synth_stack import ROOT, generate, tarball_paths  # noqa: E402

TARGET = 1.3
MIRROR = "bench"
SPACKCACHE = [sys.executable, "-m", "jupyter_spackcache.cli"]


# ---- the mirror server -------------------------------------------------------------------


#: the mirror's server (see its docstring for how it is set up, and why)
MIRROR_SERVER = Path(__file__).with_name("mirror_server.py")


class HttpMirror:
    """``mirror_server.py`` on a free 127.0.0.1 port, serving the mirror directory."""

    def __init__(self, root: Path) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(MIRROR_SERVER), str(self.port), str(root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import httpx

        for _ in range(200):
            try:
                httpx.get(self.url + "/", timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the HTTP server did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# ---- the three contenders ----------------------------------------------------------------


#: CPU seconds (user + sys) of every child process waited for, per contender, in run order
CPU: dict[str, list[float]] = {"floor": [], "installer": [], "spack": []}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _disk_activity() -> tuple[int, int]:
    """(sectors written, I/Os in flight) summed over the block devices, from /proc/diskstats."""
    written = in_flight = 0
    with open("/proc/diskstats") as fh:
        for line in fh:
            fields = line.split()
            if len(fields) >= 12 and not fields[2].startswith(("loop", "ram")):
                written += int(fields[9])
                in_flight += int(fields[11])
    return written, in_flight


def settle(quiet: float = 1.0, limit: float = 20.0) -> None:
    """``sync``, then wait until the disks have been idle for ``quiet`` seconds (at most
    ``limit``): writeback and discards of the previous run slow the next one otherwise
    (whichever contender ran second was 10-20% slower before this)."""
    os.sync()
    deadline = time.monotonic() + limit
    last, idle_since = _disk_activity(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = _disk_activity()
        if now[0] != last[0] or now[1]:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since >= quiet:
            return
        last = now


def _timed(run: Callable[[], object], who: str) -> float:
    """Wall time of ``run``; its children's CPU time goes to ``CPU[who]``."""
    settle()
    cpu = _children_cpu()
    start = time.perf_counter()
    run()
    took = time.perf_counter() - start
    CPU[who].append(_children_cpu() - cpu)
    return took


def floor_once(tarballs: list[Path], dest: Path) -> float:
    """Wall time of a bare parallel ``tar -xzf`` of every tarball into ``dest``."""
    dest.mkdir(parents=True)

    def untar(path: Path) -> None:
        subprocess.run(["tar", "-xzf", str(path), "-C", str(dest)], check=True)

    def run() -> None:
        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            list(pool.map(untar, tarballs))

    return _timed(run, "floor")


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*SPACKCACHE, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"spackcache {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done


def fresh_home(home: Path, url: str, fingerprint: str) -> dict[str, str]:
    """A new SPACKCACHE_HOME with the mirror added and its key trusted (untimed)."""
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {**os.environ, "SPACKCACHE_HOME": str(home)}
    env.pop("SPACKCACHE_FAULT", None)
    _cli(env, "mirror", "add", MIRROR, url)
    _cli(env, "keys", "trust", "--mirror", MIRROR, fingerprint, "--yes")
    return env


def installer_once(home: Path, url: str, fingerprint: str, jobs: int) -> float:
    env = fresh_home(home, url, fingerprint)
    return _timed(lambda: _cli(env, "install", ROOT, "--yes", "-j", str(jobs)), "installer")


def spack_once(work: Path, url: str) -> float | None:
    """``spack install --cache-only`` in a throwaway Spack config; None when no spack."""
    spack = shutil.which("spack")
    if spack is None:
        return None
    scope = work / "spack-scope"
    shutil.rmtree(scope, ignore_errors=True)
    scope.mkdir(parents=True)
    (scope / "config.yaml").write_text(
        f"config:\n  install_tree:\n    root: {work / 'spack-store'}\n"
    )
    (scope / "mirrors.yaml").write_text(f"mirrors:\n  bench:\n    url: {url}\n    signed: false\n")
    shutil.rmtree(work / "spack-store", ignore_errors=True)
    cmd = [spack, "-C", str(scope), "install", "--cache-only", "--no-check-signature", ROOT]
    return _timed(lambda: subprocess.run(cmd, check=True, capture_output=True), "spack")


# ---- the breakdown -------------------------------------------------------------------------


def breakdown(
    home: Path, url: str, fingerprint: str, jobs: int, profile: Path | None
) -> dict[str, float]:
    """Stage times of one install through the Python API, from its progress events."""
    from jupyter_spackcache.install.progress import ProgressEvent, Stage
    from jupyter_spackcache.ops.install import plan_resolved, resolve_install, run_plan
    from jupyter_spackcache.session import Session
    from jupyter_spackcache.spec.parser import parse_specs

    env = fresh_home(home, url, fingerprint)
    events: list[ProgressEvent] = []
    lock = threading.Lock()

    def record(event: ProgressEvent) -> None:
        with lock:
            events.append(event)

    profiler = cProfile.Profile() if profile else None
    cpu = _ThreadCpu()
    settle()
    t0 = time.time()
    cpu_start = _process_cpu()
    if profiler:
        profiler.enable()
    with Session(env=env) as session, cpu.watching():
        resolutions = resolve_install(
            parse_specs(ROOT), catalog=session.catalog, store=session.store, host=session.host
        )
        t_resolved = time.time()
        cpu_resolved = _process_cpu()
        plan = plan_resolved(
            resolutions,
            catalog=session.catalog,
            store=session.store,
            install_root=session.config.store_root,
        )
        t_planned = time.time()
        cpu_planned = _process_cpu()
        kids_planned = _children_cpu()
        run_plan(
            plan,
            catalog=session.catalog,
            store=session.store,
            config=session.config,
            jobs=jobs,
            progress=record,
        )
    t_end = time.time()
    cpu_end = _process_cpu()
    kids_end = _children_cpu()
    if profiler:
        profiler.disable()
        assert profile is not None
        profiler.dump_stats(profile)
    first: dict[tuple[str, Stage], float] = {}
    for e in events:
        first.setdefault((e.hash, e.stage), e.time)
    unpacked = {h: t for (h, stage), t in first.items() if stage is Stage.UNPACKED}
    hashes = {e.hash for e in events if e.stage == Stage.DONE}

    def span(a: Stage, b: Stage) -> float:
        return sum(
            first[(h, b)] - first[(h, a)] for h in hashes if (h, a) in first and (h, b) in first
        )

    def unpack_span(to_relocate: bool) -> float:
        spans = [
            (first[(h, Stage.RELOCATE)] - unpacked[h])
            if to_relocate
            else (unpacked[h] - first[(h, Stage.EXTRACT)])
            for h in hashes
            if h in unpacked
        ]
        return sum(spans)

    downloads = [first[(h, Stage.DOWNLOAD)] for h in hashes if (h, Stage.DOWNLOAD) in first]
    verified = [first[(h, Stage.VERIFY)] for h in hashes if (h, Stage.VERIFY) in first]
    return {
        "total": t_end - t0,
        "session+index+resolve": t_resolved - t0,
        "plan (spec fetch + gpg verify)": t_planned - t_resolved,
        "install (pipeline wall)": t_end - t_planned,
        "download window (first byte .. last verified)": max(verified) - min(downloads),
        "queued for a worker after verify (sum)": span(Stage.VERIFY, Stage.EXTRACT),
        "extract (sum over nodes)": unpack_span(False),
        "unpacked, waiting for deps (sum)": unpack_span(True),
        "relocate+rename+db (sum over nodes)": span(Stage.RELOCATE, Stage.DONE),
        "nodes": float(len(hashes)),
        "CPU: session+index+resolve": cpu_resolved - cpu_start,
        "CPU: plan (incl. gpg processes)": cpu_planned - cpu_resolved,
        "CPU: install (incl. unpacker processes)": cpu_end - cpu_planned,
        "CPU:   download thread": cpu.seconds["download"],
        "CPU:   unpacker processes": kids_end - kids_planned,
        "CPU:   extract, installer's own threads (sum)": cpu.seconds["unpack"],
        "CPU:   relocate+rename+db (sum)": cpu.seconds["commit"],
    }


def _process_cpu() -> float:
    """User + system CPU of this process and its finished children (gpg), in seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class _ThreadCpu:
    """CPU time (``time.thread_time``) spent in the pipeline's steps, summed over threads.

    Wraps the functions the pipeline calls, for the breakdown run only."""

    def __init__(self) -> None:
        self.seconds = {"download": 0.0, "unpack": 0.0, "commit": 0.0}
        self._lock = threading.Lock()

    def _timed(self, key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[key] += time.thread_time() - start

        return wrapper

    @contextlib.contextmanager
    def watching(self) -> Any:
        from jupyter_spackcache.install import fetch, pipeline

        saved = (fetch.download_blocking, pipeline.unpack_node, pipeline.commit_node)
        fetch.download_blocking = self._timed("download", saved[0])
        pipeline.unpack_node = self._timed("unpack", saved[1])
        pipeline.commit_node = self._timed("commit", saved[2])
        try:
            yield
        finally:
            fetch.download_blocking, pipeline.unpack_node, pipeline.commit_node = saved


# ---- reporting -----------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem_kib = int(fh.readline().split()[1])
    disk = subprocess.run(["df", "-hT", "."], capture_output=True, text=True).stdout
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{mem_kib / 1024 / 1024:.0f} GiB",
        "disk": " ".join(disk.splitlines()[-1].split()[:3]),
        "python": platform.python_version(),
        "tar": subprocess.run(
            ["tar", "--version"], capture_output=True, text=True
        ).stdout.splitlines()[0],
    }


def _stats(times: list[float]) -> str:
    return f"best {min(times):6.2f} s   median {statistics.median(times):6.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/synth-stack"))
    parser.add_argument(
        "--repeat", type=int, default=4, help="timed rounds (0: only the breakdown run)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="-j for the installer (default: its own, one per CPU)",
    )
    parser.add_argument("--profile", type=Path, help="write a cProfile of the breakdown run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.jobs is None:
        from jupyter_spackcache.install.threadpool import default_jobs

        args.jobs = default_jobs()
    work = args.work.absolute()
    work.mkdir(parents=True, exist_ok=True)
    os.chdir(work)
    info = generate(work)
    tarballs = tarball_paths(Path(info["mirror"]))
    total = sum(p.stat().st_size for p in tarballs)
    print(
        f"stack: {len(tarballs)} tarballs, {total / 2**20:.0f} MiB compressed, "
        f"largest {info['largest_mb']} MiB"
    )
    runs = work / "runs"
    load_before = f"{os.getloadavg()[0]:.2f}"
    server = HttpMirror(Path(info["mirror"]))
    results: dict[str, Any] = {"machine": machine(), "stack": info}
    try:
        floor: list[float] = []
        inst: list[float] = []
        spack: list[float] = []
        # Deleting a 700 MB tree slows the next few seconds of file creation on this kind of
        # disk (ext4 mounted with `discard`): so no timed run follows a deletion; every run
        # gets a fresh directory and all of them are deleted at the end. An untimed floor
        # run first brings the tarballs into the page cache for everyone.
        shutil.rmtree(runs, ignore_errors=True)
        floor_once(tarballs, runs / "warm-up")
        CPU["floor"].clear()
        for i in range(args.repeat):
            here = runs / f"round-{i + 1}"
            for who in ("floor", "installer") if i % 2 == 0 else ("installer", "floor"):
                if who == "floor":  # who goes first alternates between rounds
                    floor.append(floor_once(tarballs, here / "floor"))
                else:
                    inst.append(
                        installer_once(here / "home", server.url, info["fingerprint"], args.jobs)
                    )
            took = spack_once(here, server.url)
            if took is not None:
                spack.append(took)
            print(
                f"  round {i + 1}: floor {floor[-1]:.2f} s, installer {inst[-1]:.2f} s"
                + (f", spack {took:.2f} s" if took is not None else ""),
                flush=True,
            )
        parts = breakdown(
            runs / "breakdown" / "home", server.url, info["fingerprint"], args.jobs, args.profile
        )
    finally:
        server.stop()
        shutil.rmtree(runs, ignore_errors=True)
    if not floor:  # --repeat 0: the breakdown alone
        for key, value in parts.items():
            print(f"  {key:<48} {value:7.2f}")
        return 0
    ratio_best = min(inst) / min(floor)
    ratio_median = statistics.median(inst) / statistics.median(floor)
    # Each round runs the floor and the installer back to back, so a round's ratio compares
    # them under the same machine conditions; the machine drifts between rounds (the floor
    # alone has ranged 2.4-6 s within minutes), which best/best does not cancel.
    paired = [i / f for i, f in zip(inst, floor, strict=True)]
    ratio_paired = statistics.median(paired)
    verdict = "PASS" if ratio_paired <= TARGET else "MISS"
    print(f"floor (parallel tar -xzf) : {_stats(floor)}")
    print(f"spackcache install -j {args.jobs}  : {_stats(inst)}")
    if spack:
        print(
            f"spack install --cache-only: {_stats(spack)}   "
            f"ratio spack/floor {min(spack) / min(floor):.2f}x"
        )
    else:
        print("spack install --cache-only: skipped: spack not on PATH")
    print(f"ratio installer/floor per round: {', '.join(f'{r:.2f}x' for r in paired)}")
    print(
        f"ratio installer/floor: median of rounds {ratio_paired:.2f}x (target <= {TARGET}x) "
        f"{verdict}; best/best {ratio_best:.2f}x, median/median {ratio_median:.2f}x"
    )
    cpu_ratio = min(CPU["installer"]) / min(CPU["floor"])
    print(
        f"CPU time (user+sys): floor best {min(CPU['floor']):.2f} s, installer best "
        f"{min(CPU['installer']):.2f} s, ratio {cpu_ratio:.2f}x"
    )
    print(f"load average before/after: {load_before} / {os.getloadavg()[0]:.2f}")
    print("installer breakdown (Python API run):")
    for key, value in parts.items():
        print(f"  {key:<48} {value:7.2f}")
    results.update(
        floor=floor,
        installer=inst,
        spack=spack or None,
        ratio_best=ratio_best,
        ratio_median=ratio_median,
        ratio_paired=ratio_paired,
        paired=paired,
        verdict=verdict,
        breakdown=parts,
        jobs=args.jobs,
        cpu=CPU,
        cpu_ratio=cpu_ratio,
        load=[load_before, f"{os.getloadavg()[0]:.2f}"],
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
