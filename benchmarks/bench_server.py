"""Benchmark the server extension: spec search latency and event-loop delay during installs.

Starts a real ``jupyter server`` (this extension only) in a child process, on a free local
port, with its own state directory:

* ``GET /spackcache/api/specs?q=`` against a 50,000-node synthetic index
  (``synth_index.py``), whose cache is built before the server starts. Each query is timed
  on its first request (a cold listing) and then on repeats (memoised). Target:
  p95 < 100 ms.
* ``GET /api/status`` (a core Jupyter route) is polled every 20 ms, first with the server
  idle and then while the demo stack is installed and uninstalled in a loop from a
  ``file://`` mirror. Target: p95 added delay < 50 ms.

Not run in CI (it needs gcc for the demo stack and takes about a minute).

    python benchmarks/bench_server.py [--nodes 50000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

import synth_index  # noqa: E402

from jupyter_spackcache.config import MirrorConfig, write_yaml_atomic  # noqa: E402
from jupyter_spackcache.demo.build import build_demo_mirror  # noqa: E402
from jupyter_spackcache.mirrors.indexcache import IndexCache  # noqa: E402

SEARCH_TARGET_MS = 100.0
DELAY_TARGET_MS = 50.0
#: the host the searches pose as: zen3 with glibc 2.36 runs some of the synthetic stacks
HOST_TARGET, HOST_LIBC = "zen3", "glibc@2.36:/usr"
QUERIES = (
    "zlib",
    "zlib-ng",
    "hdf5",
    "hdf5~mpi",
    "hdf5+mpi",
    "openmpi",
    "gromacs",
    "gromacs+mpi",
    "py-numpy",
    "cmake",
    "cmake@3",
    "fftw",
    "boost",
    "python",
    "perl",
    "openssl",
    "curl",
    "netcdf-c",
    "petsc",
    "llvm",
    "gcc-runtime",
    "libxml2",
    "bzip2",
    "xz",
)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Stats:
    label: str
    samples: list[float]

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)

    def row(self, target: str) -> str:
        p50 = percentile(self.samples, 0.5)
        return (
            f"| {self.label} | {len(self.samples)} | {p50:.1f} | {self.p95:.1f} | "
            f"{max(self.samples):.1f} | {target} |"
        )


def verdict(ok: bool, target: str) -> str:
    return f"{'PASS' if ok else 'MISS'}: {target}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_state(home: Path, nodes: int, demo: Path) -> None:
    """The user's config: the synthetic index (already cached) and the demo mirror."""
    bench = MirrorConfig(name="bench", url="file:///benchmark/public-like", unsigned=True)
    index = home / "synth-index.json"
    synth_index.write(synth_index.generate(nodes), index)
    with index.open("rb") as f:
        IndexCache(home / "cache" / "indices").store_stream(
            bench, "v3", f, index_hash="bench", etag=None
        ).close()
    index.unlink()
    demo_mirror = MirrorConfig(name="demo", url=demo.as_uri(), unsigned=True)
    write_yaml_atomic(home / "config.yaml", {"mirrors": [bench.to_yaml(), demo_mirror.to_yaml()]})


@contextmanager
def jupyter_server(work: Path, env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    port, token = free_port(), secrets.token_hex(16)
    config = work / "jupyter-config"
    config.mkdir()
    (config / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"jupyter_spackcache": True}}})
    )
    env = {
        **env,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(work / "data"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "server.log").open("w"),
    )
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/spackcache/api/status", headers=headers).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"jupyter server did not start; see {work / 'server.log'}")
            time.sleep(0.1)
        yield url, headers
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def timed_get(client: httpx.Client, path: str, **params: str) -> float:
    start = time.perf_counter()
    response = client.get(path, params=params)
    response.raise_for_status()
    return (time.perf_counter() - start) * 1000


def bench_search(client: httpx.Client) -> list[Stats]:
    """Typed queries (what the panel's search box sends), then browsing without a query."""
    first = [timed_get(client, "/spackcache/api/specs", q=q) for q in QUERIES]
    repeat = [timed_get(client, "/spackcache/api/specs", q=q) for _ in range(4) for q in QUERIES]
    pages = [str(n) for n in range(1, 4)]
    browse = [timed_get(client, "/spackcache/api/specs", page=p, per_page="50") for p in pages]
    again = [
        timed_get(client, "/spackcache/api/specs", page=p, per_page="50")
        for _ in range(5)
        for p in pages
    ]
    return [
        Stats(f"`GET /specs?q=NAME`, first request ({len(QUERIES)} names)", first),
        Stats("`GET /specs?q=NAME`, repeated", repeat),
        Stats("`GET /specs?page=N` (no query, 50 groups), first request", browse),
        Stats("`GET /specs?page=N` (no query, 50 groups), repeated", again),
    ]


def poll_status(client: httpx.Client, seconds: float, busy: threading.Event | None) -> list[float]:
    """``/api/status`` latencies every 20 ms (only while ``busy`` is set, when given)."""
    samples: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if busy is None or busy.is_set():
            samples.append(timed_get(client, "/api/status"))
        time.sleep(0.02)
    return samples


def install_loop(
    client: httpx.Client, stop: threading.Event, busy: threading.Event, count: list[int]
) -> None:
    """Install demo-tool, wait for the task, uninstall everything; again until told to stop."""
    while not stop.is_set():
        busy.set()
        task = client.post("/spackcache/api/installs", json={"specs": ["demo-tool"]}).json()
        while client.get(f"/spackcache/api/tasks/{task['id']}").json()["state"] in {
            "queued",
            "running",
        }:
            time.sleep(0.05)
        busy.clear()
        count[0] += 1
        for record in client.get("/spackcache/api/installed").json():
            if record["explicit"]:
                client.delete(
                    f"/spackcache/api/installed/{record['hash']}", params={"dependents": "true"}
                )
        client.post("/spackcache/api/gc", json={})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    home = Path(tempfile.mkdtemp(prefix="s", dir="/tmp"))  # short: GnuPG sockets live here
    try:
        print(f"building the demo mirror and a {args.nodes}-node index ...", file=sys.stderr)
        demo = build_demo_mirror(work / "demo", keyring=None).path
        prepare_state(home, args.nodes, demo)
        env = {
            **os.environ,
            "SPACKCACHE_HOME": str(home),
            "SPACKCACHE_SITE_CONFIG": str(work / "no-site.yaml"),
            "SPACKCACHE_INSTALL_ROOT": str(work / "opt"),
        }
        with (
            jupyter_server(work, env) as (url, headers),
            httpx.Client(base_url=url, headers=headers, timeout=60) as client,
        ):
            print("searching ...", file=sys.stderr)
            searches = bench_search(client)
            print("polling /api/status idle, then during installs ...", file=sys.stderr)
            idle = Stats("`GET /api/status`, idle", poll_status(client, 5, None))
            stop, busy, count = threading.Event(), threading.Event(), [0]
            with httpx.Client(base_url=url, headers=headers, timeout=120) as installer:
                worker = threading.Thread(target=install_loop, args=(installer, stop, busy, count))
                worker.start()
                loaded = poll_status(client, args.seconds, busy)
                stop.set()
                worker.join()
        during = Stats(f"`GET /api/status`, during {count[0]} installs", loaded)
        lines = [
            "## Server latency",
            "",
            f"`python benchmarks/bench_server.py --nodes {args.nodes} --seconds {args.seconds:g}`"
            f" on this machine ({os.cpu_count()} cores). The server was a real `jupyter server`"
            f" child process. Synthetic index: {args.nodes} nodes, searched as a"
            f" {HOST_TARGET}/{HOST_LIBC.split(':')[0]} host. Times in ms.",
            "",
            "| measurement | n | p50 | p95 | max | target |",
            "| --- | --- | --- | --- | --- | --- |",
            *(
                s.row(verdict(s.p95 < SEARCH_TARGET_MS, f"p95 < {SEARCH_TARGET_MS:g}"))
                for s in searches
            ),
            idle.row("baseline"),
            during.row(
                verdict(
                    during.p95 - idle.p95 < DELAY_TARGET_MS, f"p95 - idle p95 < {DELAY_TARGET_MS:g}"
                )
            ),
        ]
        print("\n".join(lines))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("SPACKCACHE_TARGET", HOST_TARGET)
    os.environ.setdefault("SPACKCACHE_LIBC", HOST_LIBC)
    sys.exit(main())
