"""Build hostile inputs from a copy of the real signed demo mirror, for issue #16's tests.

Each helper changes what an attacker who can write to a mirror (but not sign) could change:
the unsigned index, file names, blobs. Signed manifests stay exactly as the demo pushed them.
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.v3layout import (
    INDEX_MEDIA_TYPE,
    record_for,
    render_manifest,
)

INDEX_MANIFEST = Path("v3/manifests/index/index.manifest.json")


def read_index(mirror: Path) -> dict[str, Any]:
    """The decoded ``index.json`` of a v3 mirror."""
    records = json.loads(strip_clearsign((mirror / INDEX_MANIFEST).read_text()))["data"]
    (record,) = [r for r in records if r["mediaType"].startswith("application/vnd.spack.db")]
    blob = mirror / "blobs" / "sha256" / record["checksum"][:2] / record["checksum"]
    data = blob.read_bytes()
    if record["compression"] == "gzip":
        data = gzip.decompress(data)
    index: dict[str, Any] = json.loads(data)
    return index


def write_index_bytes(mirror: Path, data: bytes, compression: str = "none") -> None:
    """Publish ``data`` (stored as is) as the mirror's index: an unsigned manifest + blob."""
    record = record_for(data, INDEX_MEDIA_TYPE, compression)
    blob = mirror / record.path
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    (mirror / INDEX_MANIFEST).write_text(render_manifest([record]))


def edit_index(mirror: Path, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Apply ``edit`` to the decoded index (its ``database.installs``) and publish it."""
    index = read_index(mirror)
    edit(index["database"]["installs"])
    write_index_bytes(mirror, json.dumps(index).encode())
    return index


def spec_of(installs: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    """(hash, spec dict) of the one index record named ``name``."""
    (found,) = [(h, r["spec"]) for h, r in installs.items() if r["spec"]["name"] == name]
    return found


def spec_manifest(mirror: Path, name: str) -> Path:
    (found,) = sorted((mirror / "v3" / "manifests" / "spec" / name).glob("*.spec.manifest.json"))
    return found


def relabel(
    mirror: Path, name: str, *, new_name: str | None = None, new_version: str | None = None
) -> str:
    """Rename/re-version ``name`` in the index only, and copy its signed manifest to where the
    new label points (a signed file under another name: no signature is broken)."""
    holder: dict[str, str] = {}

    def edit(installs: dict[str, Any]) -> None:
        dag_hash, spec = spec_of(installs, name)
        spec["name"] = new_name or spec["name"]
        spec["version"] = new_version or spec["version"]
        holder["hash"] = dag_hash
        holder["label"] = f"{spec['name']}-{spec['version']}-{dag_hash}"
        holder["name"] = spec["name"]

    edit_index(mirror, edit)
    source = spec_manifest(mirror, name)
    dest = mirror / "v3" / "manifests" / "spec" / holder["name"]
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, dest / f"{holder['label']}.spec.manifest.json")
    return holder["hash"]


def deep_tarball(depth: int, name: str = "pkg") -> bytes:
    """A Spack-looking tarball whose package holds ``depth`` nested directories."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:

        def add_dir(path: str) -> None:
            info = tarfile.TarInfo(path)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)

        add_dir(name)
        add_dir(f"{name}/.spack")
        path = f"{name}/d"
        for _ in range(depth):
            add_dir(path)
            path += "/d"
        body = b"buildpath: /build/pkg\nrelocate_textfiles: []\nhash_to_prefix: {}\n"
        info = tarfile.TarInfo(f"{name}/.spack/binary_distribution")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def bomb_tarball(size: int, name: str = "pkg") -> bytes:
    """A Spack-looking tarball holding one file of ``size`` zero bytes (compresses ~1000x)."""

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        for d in (name, f"{name}/.spack", f"{name}/share"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        body = b"buildpath: /build/pkg\nrelocate_textfiles: []\nhash_to_prefix: {}\n"
        info = tarfile.TarInfo(f"{name}/.spack/binary_distribution")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo(f"{name}/share/zeros")
        info.size = size
        tar.addfile(info, Zeros())
    return out.getvalue()


def world_writable_tarball(name: str = "pkg") -> bytes:
    """A Spack-looking tarball whose directory and files are all mode 0777 (and one 04777)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for d in (name, f"{name}/.spack", f"{name}/bin"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o777
            tar.addfile(info)
        files = {
            f"{name}/.spack/binary_distribution": (
                b"buildpath: /build/pkg\nrelocate_textfiles: []\nhash_to_prefix: {}\n",
                0o777,
            ),
            f"{name}/bin/tool": (b"#!/bin/sh\necho hi\n", 0o4777),
            f"{name}/bin/data": (b"data\n", 0o640),
        }
        for path, (body, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(body)
            info.mode = mode
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def bomb_mirror(root: Path, size: int) -> str:
    """An unsigned v3 mirror holding one package ``bomb@1.0`` whose tarball unpacks to ``size``
    zero bytes (a layout-2 tarball under a long build prefix, so every precheck passes)."""
    from jupyter_spackcache.push.writer import V3MirrorWriter

    dag_hash = "b" * 32
    build = "build/" + "p" * 180 + f"/linux-x86_64/bomb-1.0-{dag_hash}"
    body = (
        f"buildpath: /{build}\nrelative_prefix: linux-x86_64/bomb-1.0-{dag_hash}\n"
        "relocate_textfiles: []\nhash_to_prefix: {}\n"
    ).encode()

    class Zeros(io.RawIOBase):
        left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), self.left)
            buffer[:n] = bytes(n)
            self.left -= n
            return n

    tarball = root.parent / "bomb.tar.gz"
    with tarfile.open(tarball, mode="w:gz", compresslevel=1) as tar:
        parts = build.split("/")
        for depth in range(1, len(parts) + 1):
            info = tarfile.TarInfo("/".join(parts[:depth]))
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        info = tarfile.TarInfo(f"{build}/.spack")
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
        info = tarfile.TarInfo(f"{build}/.spack/binary_distribution")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo(f"{build}/zeros")
        info.size = size
        tar.addfile(info, Zeros())
    node = {
        "name": "bomb",
        "version": "1.0",
        "hash": dag_hash,
        "namespace": "builtin",
        "arch": {"platform": "linux", "platform_os": "debian12", "target": "x86_64"},
        "parameters": {"build_system": "generic"},
    }
    writer = V3MirrorWriter(root, keyring=None, signing_key=None)
    writer.add({"spec": {"_meta": {"version": 5}, "nodes": [node]}}, tarball)
    writer.write_index()
    return dag_hash
