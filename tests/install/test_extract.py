"""safe_extract: Spack's tarball layouts unpack exactly; hostile tarballs unpack nothing."""

from __future__ import annotations

import gzip
import io
import os
import signal
import stat
import tarfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from jupyter_spackcache.errors import InstallError
from jupyter_spackcache.formats.buildinfo import parse_buildinfo
from jupyter_spackcache.install.extract import safe_extract
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES / "spack-upstream/mirrors"
V2_CACHE = FIXTURES / "v2_layout" / "unsigned" / "build_cache"
LEGACY = FIXTURES / "legacy_layout" / "build_cache"

ROOT = "home/builder/opt/linux-x86_64/pkg-1.0-aaaa"
BUILDINFO = (
    "{buildpath: /home/builder/opt, relative_prefix: linux-x86_64/pkg-1.0-aaaa, "
    "sbang_install_path: /home/builder/opt/bin/sbang, hardlinks_deduped: true, "
    "hash_to_prefix: {aaaa: /home/builder/opt/linux-x86_64/pkg-1.0-aaaa}, "
    "relocate_textfiles: [], relocate_binaries: [], relocate_links: []}\n"
)

Member = tuple[tarfile.TarInfo, bytes | None]

#: where the hostile tarballs try to write, outside any staging directory
EVIL_ABSOLUTE = f"/tmp/evil-absolute-{os.getpid()}"
EVIL_THROUGH_LINK = f"evil-through-link-{os.getpid()}"


def _dir(name: str, mode: int = 0o755) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, mode
    return info, None


def _file(name: str, data: bytes = b"content\n", mode: int = 0o644) -> Member:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> Member:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, target, 0o755
    return info, None


def _tarball(members: Iterable[Member]) -> bytes:
    raw = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _package(*extra: Member, parents: bool = True) -> list[Member]:
    """A valid layout-2 package with ``extra`` members appended."""
    parts = ROOT.split("/")
    members = [_dir("/".join(parts[:i])) for i in range(1, len(parts))] if parents else []
    members += [
        _dir(ROOT),
        _dir(f"{ROOT}/.spack"),
        _file(f"{ROOT}/.spack/binary_distribution", BUILDINFO.encode()),
        _dir(f"{ROOT}/bin"),
        _file(f"{ROOT}/bin/tool", b"#!/bin/sh\necho hi\n", 0o755),
    ]
    return members + list(extra)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    staging = tmp_path / "staging"
    staging.mkdir()
    return staging


def test_layout2_package_root_becomes_dest(dest: Path) -> None:
    tarball = _tarball(
        _package(
            _dir(f"{ROOT}/lib"),
            _file(f"{ROOT}/lib/libx.so.1", b"\x7fELF..."),
            _link(f"{ROOT}/lib/libx.so", "libx.so.1"),
            _link(
                f"{ROOT}/lib/abs.so", "/home/builder/opt/linux-x86_64/pkg-1.0-aaaa/lib/libx.so.1"
            ),
            _link(f"{ROOT}/bin/tool2", f"{ROOT}/bin/tool", tarfile.LNKTYPE),
        )
    )
    info = safe_extract(io.BytesIO(tarball), dest)

    assert info == parse_buildinfo(BUILDINFO)
    assert sorted(p.name for p in dest.iterdir()) == [".spack", "bin", "lib"]
    assert (dest / "bin" / "tool").read_text() == "#!/bin/sh\necho hi\n"
    assert stat.S_IMODE((dest / "bin" / "tool").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / ".spack" / "binary_distribution").stat().st_mode) == 0o644
    assert os.readlink(dest / "lib" / "libx.so") == "libx.so.1"
    # absolute targets are kept verbatim: relocation fixes them
    assert os.readlink(dest / "lib" / "abs.so").startswith("/home/builder/opt/")
    assert (dest / "bin" / "tool2").stat().st_ino == (dest / "bin" / "tool").stat().st_ino


def test_accepts_a_path_and_a_one_way_stream(tmp_path: Path, dest: Path) -> None:
    tarball = _tarball(_package())
    path = tmp_path / "pkg.spack"
    path.write_bytes(tarball)
    assert safe_extract(path, dest).buildpath == "/home/builder/opt"

    class OneWay(io.BytesIO):
        """A stream that cannot seek, like an HTTP response body."""

        def seekable(self) -> bool:
            return False

        def seek(self, *_: object) -> int:
            raise io.UnsupportedOperation("seek")

    other = tmp_path / "other"
    other.mkdir()
    assert safe_extract(OneWay(tarball), other).relative_prefix == ("linux-x86_64/pkg-1.0-aaaa")
    assert (other / "bin" / "tool").is_file()


@pytest.mark.parametrize("spack", sorted(V2_CACHE.rglob("*.spack")), ids=lambda p: p.name[:40])
def test_upstream_layout2_tarballs(spack: Path, dest: Path) -> None:
    info = safe_extract(spack, dest)
    assert info.relative_prefix is not None
    assert info.old_prefix in info.hash_to_prefix.values()
    assert info.hardlinks_deduped is True
    assert (dest / ".spack" / "spec.json").is_file()
    with tarfile.open(spack) as tar:
        root = info.old_prefix.lstrip("/")  # type: ignore[union-attr]
        inside = {
            m.name[len(root) + 1 :] for m in tar.getmembers() if m.name.startswith(root + "/")
        }
    on_disk = {str(p.relative_to(dest)) for p in dest.rglob("*")}
    assert on_disk == inside


def test_upstream_legacy_layout1_inner_tarball(tmp_path: Path, dest: Path) -> None:
    (outer,) = LEGACY.rglob("*.spack")
    with tarfile.open(outer) as tar:
        (inner,) = [m for m in tar.getmembers() if m.name.endswith(".tar.gz")]
        data = tar.extractfile(inner).read()  # type: ignore[union-attr]
    info = safe_extract(io.BytesIO(data), dest)
    # legacy prefix_to_hash (a YAML complex-key mapping) is turned around
    assert info.hash_to_prefix == {
        "l3vdiqvbobmspwyb4q2b62fz6nitd4hk": info.old_prefix,
    }
    assert (dest / "deleteme").is_file()
    assert (dest / ".spack" / "archived-files" / "errors.txt").is_file()
    # tarball says 0700 for directories: the owner keeps full access
    assert stat.S_IMODE(dest.stat().st_mode) == 0o700


# ------------------------------------------------------------------------- hostile tarballs


HOSTILE: dict[str, tuple[bytes, str]] = {
    "dotdot": (
        _tarball(_package(_file(f"{ROOT}/../../../../../../evil"))),
        "has a '..' component",
    ),
    "absolute": (_tarball(_package(_file(EVIL_ABSOLUTE))), "has an absolute name"),
    "symlink-then-write": (
        _tarball(
            _package(
                _link(f"{ROOT}/escape", "/tmp"),
                _file(f"{ROOT}/escape/{EVIL_THROUGH_LINK}"),
            )
        ),
        "would be written through the symlink escape",
    ),
    "hardlink-outside": (
        _tarball(_package(_link(f"{ROOT}/passwd", "etc/passwd", tarfile.LNKTYPE))),
        "is a hard link to etc/passwd, outside the package root",
    ),
    "hardlink-absolute": (
        _tarball(_package(_link(f"{ROOT}/passwd", "/etc/passwd", tarfile.LNKTYPE))),
        "is a hard link to the absolute path /etc/passwd",
    ),
    "device": (
        _tarball(_package(_link(f"{ROOT}/null", "", tarfile.CHRTYPE))),
        "is a device, FIFO or other special file",
    ),
    "fifo": (
        _tarball(_package(_link(f"{ROOT}/pipe", "", tarfile.FIFOTYPE))),
        "is a device, FIFO or other special file",
    ),
    "outside-root": (
        _tarball(_package(_file("home/builder/.bashrc"))),
        "lies outside the package root home/builder/opt/linux-x86_64/pkg-1.0-aaaa",
    ),
    "no-buildinfo": (
        _tarball([_dir("pkg"), _file("pkg/README")]),
        "tarball is not a Spack package: it has no .spack/binary_distribution file",
    ),
    "two-roots": (
        _tarball(
            _package(
                _dir("home/builder/opt/linux-x86_64/other-2.0-bbbb"),
                _dir("home/builder/opt/linux-x86_64/other-2.0-bbbb/.spack"),
                _file(
                    "home/builder/opt/linux-x86_64/other-2.0-bbbb/.spack/binary_distribution",
                    BUILDINFO.encode(),
                ),
            )
        ),
        "lies outside the package root",
    ),
    "duplicate": (
        _tarball(_package(_file(f"{ROOT}/bin/tool", b"second copy"))),
        "appears twice in the tarball",
    ),
    "no-root-dir": (
        _tarball(_package(parents=False)[1:]),
        "tarball has no directory entry for the package root",
    ),
    "truncated-middle": (_tarball(_package())[:-200], "tarball is truncated or corrupt"),
    "truncated-tail": (_tarball(_package())[:-6], "tarball is truncated or corrupt"),
    "not-gzip": (b"PK\x03\x04 not a tarball", "tarball is not gzip-compressed"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tarball_is_refused_and_nothing_is_left(
    case: str, dest: Path, tmp_path: Path
) -> None:
    tarball, message = HOSTILE[case]
    with pytest.raises(InstallError) as excinfo:
        safe_extract(io.BytesIO(tarball), dest)
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)
    assert list(dest.iterdir()) == []
    assert not Path(EVIL_ABSOLUTE).exists()
    assert not Path("/tmp", EVIL_THROUGH_LINK).exists()


def test_failure_while_writing_empties_dest(dest: Path) -> None:
    # valid member list, but a member's data cannot be decoded as UTF-8 buildinfo
    broken = _package()
    broken[len(broken) - 3] = _file(f"{ROOT}/.spack/binary_distribution", b"\xff\xfe{")
    with pytest.raises(InstallError, match="binary_distribution is not UTF-8 text"):
        safe_extract(io.BytesIO(_tarball(broken)), dest)
    assert list(dest.iterdir()) == []


def test_refuses_a_non_empty_staging_dir_and_leaves_it_alone(dest: Path) -> None:
    (dest / "keep").write_text("mine")
    with pytest.raises(InstallError, match="is not empty"):
        safe_extract(io.BytesIO(_tarball(_package())), dest)
    assert (dest / "keep").read_text() == "mine"


def test_buildinfo_without_prefix_maps_is_not_relocatable() -> None:
    with pytest.raises(InstallError, match="neither hash_to_prefix nor prefix_to_hash"):
        parse_buildinfo("{buildpath: /opt, relocate_textfiles: []}")
    with pytest.raises(InstallError, match="relocate_binaries is not a list"):
        parse_buildinfo("{buildpath: /opt, hash_to_prefix: {}, relocate_binaries: 3}")
    with pytest.raises(InstallError, match="not valid YAML"):
        parse_buildinfo("{buildpath: [")


@pytest.mark.parametrize(
    "members",
    [
        # an entry named like the private scratch directory, at the root and deeper down
        _package(
            _dir(f"{ROOT}/.spackcache-unpack"),
            _file(f"{ROOT}/.spackcache-unpack/f", b"mine\n"),
            _file(f"{ROOT}/.spackcache-unpack-0", b"also mine\n"),
        ),
        # the root holds only directories, so its leading chain runs past it
        [
            _dir("pkg"),
            _dir("pkg/.spack"),
            _dir("pkg/.spack/deep"),
            _dir("pkg/.spack/deep/er"),
            _file("pkg/.spack/deep/er/x"),
            _dir("pkg/lib"),
            _file("pkg/lib/y"),
            _file("pkg/.spack/binary_distribution", BUILDINFO.encode()),
        ],
        # no leading directory at all: layout 1 without parent entries, files first
        [
            _file("pkg/.spack/spec.json", b"{}"),
            _dir("pkg"),
            _dir("pkg/.spack"),
            _file("pkg/.spack/binary_distribution", BUILDINFO.encode()),
        ],
    ],
    ids=["scratch-name", "chain-past-root", "file-first"],
)
def test_unusual_but_valid_orders_unpack_exactly(members: list[Member], dest: Path) -> None:
    safe_extract(io.BytesIO(_tarball(members)), dest)
    root = "pkg" if members[0][0].name.startswith("pkg") else ROOT
    expected = {
        (info.name[len(root) + 1 :], data)
        for info, data in members
        if info.name.startswith(root + "/")
    }
    on_disk = {
        (str(p.relative_to(dest)), p.read_bytes() if p.is_file() else None) for p in dest.rglob("*")
    }
    assert on_disk == expected


def test_tripwire_fires_halfway_through_the_single_pass(tmp_path: Path, dest: Path) -> None:
    from jupyter_spackcache.install.faults import Tripwire

    big = [_file(f"{ROOT}/lib/f{i}", os.urandom(4096)) for i in range(40)]
    path = tmp_path / "pkg.spack"
    path.write_bytes(_tarball(_package(_dir(f"{ROOT}/lib"), *big)))
    written: list[int] = []
    with Tripwire(path, lambda: written.append(len(list(dest.rglob("f*"))))) as raw:
        safe_extract(raw, dest)
    assert len(written) == 1 and 10 <= written[0] <= 30, written


# ------------------------------------------------------------------------ worker processes


def test_unpacker_process_unpacks_and_refuses_like_the_thread(tmp_path: Path) -> None:
    """The worker process runs the same checks and reports the same one-line refusal."""
    from jupyter_spackcache.install.extract import read_buildinfo
    from jupyter_spackcache.install.procpool import UnpackerPool

    good = tmp_path / "good.spack"
    good.write_bytes(_tarball(_package(_file(f"{ROOT}/lib/libx.so", b"\x7fELF..."))))
    evil = tmp_path / "evil.spack"
    evil.write_bytes(_tarball(_package(_link(f"{ROOT}/lib/esc", "/etc/passwd", tarfile.LNKTYPE))))
    pool = UnpackerPool(1)
    try:
        with pool.lease() as worker:
            assert worker is not None
            dest = tmp_path / "ok"
            dest.mkdir()
            worker.unpack(good, dest, "pkg")
            assert (dest / "lib" / "libx.so").read_bytes() == b"\x7fELF..."
            assert read_buildinfo(dest) == parse_buildinfo(BUILDINFO)

            in_thread = tmp_path / "thread"
            in_thread.mkdir()
            with pytest.raises(InstallError) as expected:
                safe_extract(evil, in_thread)
            refused = tmp_path / "refused"
            refused.mkdir()
            with pytest.raises(InstallError) as got:
                worker.unpack(evil, refused, "pkg")
            assert got.value.message == expected.value.message
            assert got.value.hint == expected.value.hint
            assert not any(refused.iterdir())
    finally:
        pool.close()


def test_unpacker_process_that_dies_is_a_clear_error(tmp_path: Path) -> None:
    from jupyter_spackcache.install.procpool import UnpackerPool

    pool = UnpackerPool(1)
    try:
        with pool.lease() as worker:
            assert worker is not None
            os.kill(worker.pid, signal.SIGKILL)  # as the OOM killer would
            with pytest.raises(InstallError, match=r"unpacking pkg died \(killed by SIGKILL\)"):
                worker.unpack(tmp_path / "any.spack", tmp_path, "pkg")
        with pool.lease() as replacement:  # the dead one is dropped, a new one takes its place
            assert replacement is not None and replacement is not worker
            assert replacement.healthy
    finally:
        pool.close()


@pytest.mark.parametrize("program", ["exec sleep 60", "exit 0", "echo '{\"ok\": true}'"])
def test_a_worker_that_never_greets_is_stopped_and_threads_unpack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, program: str
) -> None:
    """``sys.executable`` that is not a usable Python (an embedding application): the pool
    gives its workers up after the greeting timeout, once, and unpacking goes on in threads."""
    import sys
    import time

    from jupyter_spackcache.install import procpool as unpacker

    not_python = tmp_path / "not-python"
    not_python.write_text(f"#!/bin/sh\n{program}\n")
    not_python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(not_python))
    monkeypatch.setattr(unpacker, "READY_TIMEOUT", 0.5)
    started = time.monotonic()
    with unpacker.UnpackerPool(2) as pool:
        with pool.lease() as worker:
            assert worker is None
        with pool.lease() as worker:
            assert worker is None  # given up for good: no second wait
        workers = list(pool._all)
    assert time.monotonic() - started < 5
    assert workers and all(w._proc.returncode is not None for w in workers)  # none left running
