"""Spack-shaped OCI build caches for tests: what ``spack buildcache push oci://...`` uploads.

:func:`v2_entries` reads (spec document, tarball bytes) pairs out of a v2 ``build_cache/``
fixture; :func:`push_spack_oci_cache` uploads them to a registry as Spack does (format doc
§1.4): one image per spec tagged ``<name>-<version>-<hash>.spack`` whose config is an OCI
image config merged with the spec document and whose last layer is the tarball, plus an
``index.spack`` image whose only layer is the index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jupyter_spackcache.mirrors import oci
from tests.support.servers import V2_UNSIGNED


def v2_entries(mirror: Path = V2_UNSIGNED) -> list[tuple[dict[str, Any], bytes]]:
    """(spec document, tarball bytes) for every unsigned spec file of a v2 fixture mirror."""
    cache = mirror / "build_cache"
    entries = []
    for spec_file in sorted(cache.glob("*.spec.json")):
        document = json.loads(spec_file.read_text())
        stem = spec_file.name.removesuffix(".spec.json")
        (tarball,) = cache.rglob(f"{stem}.spack")
        entries.append((document, tarball.read_bytes()))
    return entries


def _index_json(entries: Iterable[tuple[dict[str, Any], bytes]]) -> bytes:
    """A DB-v8 style index listing the root node of each entry as in the build cache."""
    installs: dict[str, Any] = {}
    for document, _ in entries:
        for node in document["spec"]["nodes"]:
            installs.setdefault(
                node["hash"], {"spec": node, "ref_count": 0, "in_buildcache": False}
            )
        root = document["spec"]["nodes"][0]
        installs[root["hash"]]["in_buildcache"] = True
    return json.dumps({"database": {"version": "8", "installs": installs}}).encode()


def push_spack_oci_cache(
    url: str,
    entries: Iterable[tuple[dict[str, Any], bytes]],
    *,
    index: bytes | None = None,
    credentials: Any = None,
) -> dict[str, str]:
    """Upload a Spack-shaped OCI build cache to ``url`` (``oci+http://host/repo``).

    For each (spec document, tarball): the tarball as a layer blob, an image config (OCI
    fields merged with the spec document) and a manifest tagged ``<name>-<version>-<hash>.spack``.
    Then an ``index.spack`` image whose only layer is ``index`` (default: built from the
    entries). Returns ``{tag: manifest digest}``.
    """
    entries = list(entries)
    pushed: dict[str, str] = {}
    with oci.OciClient(url, credentials=credentials) as client:
        for document, tarball in entries:
            layer_digest = client.put_blob(tarball)
            root = document["spec"]["nodes"][0]
            config = {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
                "config": {"Env": []},
                **document,
                "buildcache_layout_version": 3,
                "binary_cache_checksum": {
                    "hash_algorithm": "sha256",
                    "hash": layer_digest.removeprefix("sha256:"),
                },
                "archive_size": len(tarball),
                "archive_compression": "gzip",
            }
            tag = oci.oci_tag(root["name"], root["version"], root["hash"])
            pushed[tag] = client.put_manifest(
                tag, _image(client, config, [(layer_digest, tarball)])
            )
        data = index if index is not None else _index_json(entries)
        index_digest = client.put_blob(data)
        index_config = {
            "architecture": "",
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [index_digest]},
            "config": {"Env": []},
        }
        manifest = _image(client, index_config, [(index_digest, data)])
        pushed[oci.INDEX_TAG] = client.put_manifest(oci.INDEX_TAG, manifest)
    return pushed


def _image(
    client: oci.OciClient, config: dict[str, Any], layers: list[tuple[str, bytes]]
) -> dict[str, Any]:
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_digest = client.put_blob(config_bytes)
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": d,
                "size": len(b),
            }
            for d, b in layers
        ],
    }
