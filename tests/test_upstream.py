"""A site's read-only Spack store as an upstream: reused by the resolver, never written."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from jupyter_spackcache.config import HostOverrides
from jupyter_spackcache.errors import ConfigError
from jupyter_spackcache.host import detect_host
from jupyter_spackcache.resolve import resolve
from jupyter_spackcache.spec.parser import parse_spec
from jupyter_spackcache.store.upstream import UpstreamStore
from tests.fixtures import FIXTURES

DB = FIXTURES / "spack-upstream" / "database" / "index.json.v7_v8.json.gz"
ICELAKE = detect_host(
    HostOverrides(platform="linux", os="ubuntu20.04", target="icelake", libc="glibc@2.31:/usr")
)


@pytest.fixture
def upstream(tmp_path: Path) -> UpstreamStore:
    (tmp_path / ".spack-db").mkdir()
    (tmp_path / ".spack-db" / "index.json").write_bytes(gzip.decompress(DB.read_bytes()))
    return UpstreamStore(tmp_path)


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_reads_a_real_spack_database(upstream: UpstreamStore) -> None:
    assert "hdf5" in upstream.names() and "glibc" not in upstream.names()  # externals excluded
    (hdf5,) = upstream.hashes_named("hdf5")
    assert hdf5.startswith("v2fykvu") and upstream.has(hdf5)
    assert upstream.prefix(hdf5).endswith(f"hdf5-1.14.5-{hdf5}")  # type: ignore[union-attr]
    assert upstream.prefix("nope") is None and not upstream.has("nope")
    dag = upstream.dag(hdf5)
    assert {"hdf5", "zlib-ng", "gcc-runtime"} <= {n.name for n in dag.nodes.values()}


def test_resolver_reuses_upstream_builds_without_downloads(
    upstream: UpstreamStore, tmp_path: Path
) -> None:
    before = _tree_digest(tmp_path)
    result = resolve(parse_spec("hdf5@1.14"), [upstream], ICELAKE, installed=upstream.has)
    chosen = result.raise_if_unresolved()
    assert chosen.source == upstream.name and chosen.to_download == ()
    assert _tree_digest(tmp_path) == before  # reading never writes


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no readable Spack database") as err:
        UpstreamStore(tmp_path / "nowhere").names()
    assert "\n" not in str(err.value) and ".spack-db" in (err.value.hint or "")
