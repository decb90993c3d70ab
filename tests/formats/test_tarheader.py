"""FastTarInfo decodes every header block exactly as tarfile does, or leaves it to tarfile.

Archives are written by tarfile itself in its three formats; the fuzzing mutates real header
blocks byte by byte (with and without a fixed-up checksum), so the odd cases (signed checksums,
base-256 numbers, garbage digits, V7 directories, end-of-archive) are compared too.
"""

from __future__ import annotations

import io
import random
import tarfile
from typing import Any

import pytest

from jupyter_spackcache.formats.tarheader import FastTarInfo
from jupyter_spackcache.install.extract import safe_extract
from tests.install.test_extract import _package, _tarball

FIELDS = (
    "name",
    "mode",
    "uid",
    "gid",
    "size",
    "mtime",
    "chksum",
    "type",
    "linkname",
    "uname",
    "gname",
    "devmajor",
    "devminor",
    "offset",
    "offset_data",
    "pax_headers",
)


def described(info: tarfile.TarInfo) -> tuple[Any, ...]:
    return (*(getattr(info, f) for f in FIELDS), getattr(info, "_sparse_structs", None))


def random_name(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(1, 12)):
        alphabet = "abcdefghij_-." + ("é漢" if rng.random() < 0.2 else "")
        parts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))))
    return "/".join(parts).replace("..", "_.")


def make_archive(rng: random.Random, fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for index in range(60):
            kind = rng.choice("ffffdslcp")
            info = tarfile.TarInfo(f"{random_name(rng)}{index}")
            info.mode = rng.choice([0o644, 0o755, 0o4755, 0o600])
            info.mtime = rng.choice([0, 1_700_000_000, 2**33 + 5, 1_700_000_000.5])
            info.uid = info.gid = rng.choice([0, 1000, 2**21 + 3])
            info.uname = rng.choice(["", "spack", "a" * 31])
            data = b""
            if kind == "f":
                data = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 1500)))
                info.size = len(data)
            elif kind == "d":
                info.type = tarfile.DIRTYPE
            elif kind in "sl":
                info.type = tarfile.SYMTYPE if kind == "s" else tarfile.LNKTYPE
                info.linkname = random_name(rng)
            elif kind == "c":
                info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
            else:
                info.type = tarfile.FIFOTYPE
            try:
                tar.addfile(info, io.BytesIO(data) if data else None)
            except ValueError:  # a field this format cannot hold: skip that member
                continue
    return out.getvalue()


def members(archive: bytes, tarinfo: type[tarfile.TarInfo]) -> list[tuple[Any, ...]] | str:
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:", tarinfo=tarinfo) as tar:
            return [described(m) for m in tar]
    except tarfile.TarError as exc:
        return f"{type(exc).__name__}: {exc}"


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
def test_whole_archives_read_the_same(fmt: int) -> None:
    rng = random.Random(fmt)
    for _ in range(5):
        archive = make_archive(rng, fmt)
        expected = members(archive, tarfile.TarInfo)
        assert isinstance(expected, list) and len(expected) > 20
        assert members(archive, FastTarInfo) == expected


def decode(cls: type[tarfile.TarInfo], block: bytes) -> tuple[Any, ...] | str:
    try:
        return described(cls.frombuf(block, "utf-8", "surrogateescape"))
    except tarfile.HeaderError as exc:
        return f"{type(exc).__name__}: {exc}"


def with_checksum(block: bytearray) -> bytes:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def test_mutated_header_blocks_decode_the_same() -> None:
    rng = random.Random(7)
    headers = []
    for fmt in (tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        archive = make_archive(rng, fmt)
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
            headers += [archive[m.offset : m.offset + 512] for m in tar]
    specials = [bytes(512), b"", b"x" * 100]
    compared = 0
    for block in specials + headers:
        assert decode(FastTarInfo, block) == decode(tarfile.TarInfo, block)
    for _ in range(4000):
        block = bytearray(rng.choice(headers))
        for _ in range(rng.randint(1, 4)):
            at = rng.choice([rng.randrange(512), rng.randrange(100, 160), 156, 257])
            block[at] = rng.choice(
                [
                    0,
                    0x20,
                    0x30 + rng.randrange(10),
                    0x80,
                    0xFF,
                    0x1C,
                    ord("5"),
                    ord("/"),
                    rng.randrange(256),
                ]
            )
        for candidate in (bytes(block), with_checksum(block)):
            assert decode(FastTarInfo, candidate) == decode(tarfile.TarInfo, candidate)
            compared += 1
    assert compared == 8000


def test_extraction_uses_it(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = FastTarInfo.frombuf.__func__  # type: ignore[attr-defined]

    def counting(cls: type[FastTarInfo], buf: bytes, encoding: str, errors: str) -> Any:
        calls.append(len(buf))
        return original(cls, buf, encoding, errors)

    monkeypatch.setattr(FastTarInfo, "frombuf", classmethod(counting))
    path = tmp_path / "t.tar.gz"
    path.write_bytes(_tarball(_package()))
    (tmp_path / "out").mkdir()
    safe_extract(path, tmp_path / "out")
    assert (tmp_path / "out" / "bin" / "tool").read_bytes() == b"#!/bin/sh\necho hi\n"
    assert len(calls) >= 2
