"""Small synthetic binary indices in Spack's DB-v8 / spec-format-5 shape, for resolver tests."""

from __future__ import annotations

import hashlib
import io
import json
from base64 import b32encode
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_spackcache.config import MirrorConfig
from jupyter_spackcache.mirrors.indexcache import IndexCache, MirrorIndex

FLAGS = ("cflags", "cppflags", "cxxflags", "fflags", "ldflags", "ldlibs")


def fake_hash(*parts: object) -> str:
    digest = hashlib.sha1(repr(parts).encode()).digest()
    return b32encode(digest).decode().lower()[:32]


@dataclass
class N:
    """A node to put in an index. ``deps`` are (node, deptypes, virtuals)."""

    name: str
    version: str
    target: str = "x86_64_v3"
    platform: str = "linux"
    os: str = "debian12"
    variants: dict[str, Any] = field(default_factory=dict)
    deps: list[tuple[N, tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)
    external: str | None = None
    in_buildcache: bool = True
    salt: str = ""

    @property
    def hash(self) -> str:
        return fake_hash(
            self.name,
            self.version,
            self.target,
            self.platform,
            sorted(self.variants.items()),
            [d.hash for d, _, _ in self.deps],
            self.external,
            self.salt,
        )

    def to_dict(self) -> dict[str, Any]:
        params = {**{f: [] for f in FLAGS}, "build_system": "generic", **self.variants}
        node: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "arch": {"platform": self.platform, "platform_os": self.os, "target": self.target},
            "namespace": "builtin",
            "parameters": dict(sorted(params.items())),
            "package_hash": "x" * 56,
            "annotations": {"original_specfile_version": 5},
            "hash": self.hash,
        }
        if self.deps:
            node["dependencies"] = [
                {
                    "name": d.name,
                    "hash": d.hash,
                    "parameters": {"deptypes": list(t), "virtuals": list(v)},
                }
                for d, t, v in sorted(self.deps, key=lambda x: x[0].name)
            ]
        if self.external is not None:
            node["external"] = {"path": self.external, "module": None, "extra_attributes": {}}
        return node


def closure(roots: Iterable[N]) -> list[N]:
    seen: dict[str, N] = {}
    stack = list(roots)
    while stack:
        n = stack.pop()
        if n.hash not in seen:
            seen[n.hash] = n
            stack.extend(d for d, _, _ in n.deps)
    return list(seen.values())


def index_json(roots: Sequence[N]) -> bytes:
    installs = {
        n.hash: {
            "spec": n.to_dict(),
            "ref_count": 0,
            "in_buildcache": n.in_buildcache and n.external is None,
        }
        for n in closure(roots)
    }
    return json.dumps({"database": {"version": "8", "installs": installs}}).encode()


def make_index(tmp: Path, roots: Sequence[N], name: str = "synthetic") -> MirrorIndex:
    mirror = MirrorConfig(name=name, url=f"file:///synthetic/{name}", unsigned=True)
    data = index_json(roots)
    return IndexCache(tmp).store_stream(
        mirror, "v3", io.BytesIO(data), index_hash=hashlib.sha256(data).hexdigest(), etag=None
    )


def glibc(version: str, path: str = "/usr") -> N:
    return N("glibc", version, external=path)


def runtime(libc: N, target: str = "x86_64_v3") -> N:
    return N("gcc-runtime", "13.2.0", target=target, deps=[(libc, ("link",), ("libc",))])
