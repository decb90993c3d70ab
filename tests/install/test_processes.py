"""No process outlives the command that started it: gpg-agents, unpacker workers, children.

Every command runs as a real ``spackcache`` process in a fresh ``$SPACKCACHE_HOME``; the
processes that belong to it are those whose environment or command line names that home (every
child inherits the environment; gpg-agent names its ``--homedir``). They are listed before and
after each command.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.demo import broken
from tests.support.servers import StaticServer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
    pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg"),
]


def processes_of(home: Path) -> dict[int, str]:
    """Live processes (not zombies) whose environment or command line mentions ``home``."""
    marker = str(home).encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (marker in cmdline or marker in environ):
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def settle(home: Path, *, within: float = 5.0) -> dict[int, str]:
    """What is still running after ``within`` seconds (an agent takes a moment to exit)."""
    deadline = time.monotonic() + within
    while (left := processes_of(home)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sp", dir="/tmp"))
    yield home
    for pid in processes_of(home):  # only what this test started (it names our home)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(home, ignore_errors=True)


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACKCACHE_")}
    env.update(SPACKCACHE_HOME=str(home), SPACKCACHE_SITE_CONFIG=str(home / "site.yaml"))
    return env


def spackcache(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "jupyter_spackcache.cli", *args]
    return subprocess.run(
        command, env=env_for(home), capture_output=True, text=True, timeout=300, check=False
    )


def secret_key_file(workdir: Path) -> Path:
    """An armored secret key made with plain gpg (its own agent stopped afterwards)."""
    gnupg = workdir / "g"
    gnupg.mkdir(mode=0o700)
    params = (
        "%no-protection\nKey-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\n"
        "Name-Real: Proc Tester\nName-Email: proc@example.invalid\nExpire-Date: 0\n%commit\n"
    )
    gpg = ["gpg", "--homedir", str(gnupg), "--batch", "--quiet"]
    try:
        subprocess.run([*gpg, "--gen-key"], input=params, text=True, check=True)
        out = subprocess.run([*gpg, "--armor", "--export-secret-keys"], capture_output=True)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], check=False)
    path = workdir / "secret.asc"
    path.write_bytes(out.stdout)
    return path


def test_commands_leave_no_process(home: Path) -> None:
    assert processes_of(home) == {}
    steps: list[tuple[str, ...]] = [
        ("keys", "create", "Proc Tester", "proc@example.invalid", "--length", "2048"),
        ("keys", "import", str(secret_key_file(home))),
        ("demo",),
        ("install", "demo-tool", "--yes"),
        ("keys", "list"),
    ]
    for step in steps:
        done = spackcache(home, *step)
        assert done.returncode == 0, (step, done.stderr)
        assert settle(home) == {}, step
    listing = json.loads(spackcache(home, "keys", "list", "--json").stdout)
    key = next(k["fingerprint"] for k in listing if "proc@example.invalid" in str(k))
    push = ["push", "--mirror", str(home / "pushed"), "demo-tool"]
    done = spackcache(home, *push, "--key", key)
    assert done.returncode == 0, done.stderr
    assert settle(home) == {}, "signed push"


def test_killed_installer_takes_its_workers_along(home: Path) -> None:
    """kill -9 of an install in the middle of its downloads: its unpacker workers go too."""
    assert spackcache(home, "demo").returncode == 0
    mirror = home / "demo-mirror"
    with StaticServer(mirror) as server:
        for name in ("libdemo-base", "libdemo-mid", "demo-tool"):  # tarball downloads crawl
            tarball = broken.blob_path(mirror, name).relative_to(mirror).as_posix()
            server.fault(tarball, trickle=0.05, whole_only=True)
        assert spackcache(home, "mirror", "remove", "demo").returncode == 0
        assert spackcache(home, "mirror", "add", "slow", server.url).returncode == 0
        assert spackcache(home, "keys", "trust", "--mirror", "slow", "--yes").returncode == 0
        command = [sys.executable, "-m", "jupyter_spackcache.cli", "install", "demo-tool", "--yes"]
        proc = subprocess.Popen(
            command, env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # wait for the unpacker workers
            children = [p for p in processes_of(home) if p != proc.pid]
            if children and any(r.path.startswith("/blobs/") for r in server.requests):
                break
            time.sleep(0.1)
        assert children, "the installer started no worker"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert settle(home, within=3.0) == {}


def test_a_helper_dies_with_its_killed_parent(home: Path) -> None:
    """What the server's install worker and the unpackers rely on (PR_SET_PDEATHSIG)."""
    helper = (
        "import os, signal, sys, time; from jupyter_spackcache.lifeline import die_with_parent; "
        "die_with_parent(int(sys.argv[1]), signal.SIGTERM); print('armed', flush=True); "
        "time.sleep(60)"
    )
    parent_code = (
        "import os, subprocess, sys, time; "
        f"p = subprocess.Popen([sys.executable, '-c', {helper!r}, str(os.getpid())], "
        "stdout=subprocess.PIPE); print(p.pid, p.stdout.readline().decode().strip(), flush=True); "
        "time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], env=env_for(home), stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    pid, state = parent.stdout.readline().decode().split()
    assert state == "armed" and int(pid) in processes_of(home)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert settle(home, within=3.0) == {}
