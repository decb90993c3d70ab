"""Pick the reader for a mirror: OCI by scheme, else v3, else v2, else explain what is there.

Spack tries layout 3 then 2 for every request; we probe once, prefer v3 when both trees exist
(a mirror migrated without ``--delete-existing``), and remember the answer in the index cache so
that a refresh costs one request, not a probe.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ..errors import LayoutError, MirrorError, NotFoundError, SignatureError
from ..formats.v2layout import INDEX_HASH_PATH, INDEX_PATH, LAYOUT0_HINT
from ..formats.v3layout import LAYOUT_PATH, index_manifest_path
from .v2 import V2Reader
from .v3 import V3Reader

if TYPE_CHECKING:
    from ..config import MirrorConfig
    from ..trust import Keyring
    from .auth import Credentials
    from .base import MirrorReader
    from .retry import Retrier
    from .s3auth import S3Credentials
    from .transport import Transport

LAYOUTS = ("v3", "v2", "oci")


def is_oci(url: str) -> bool:
    return url.startswith(("oci://", "oci+http://"))


def open_reader(
    mirror: MirrorConfig,
    keyring: Keyring | None,
    *,
    layout: str | None = None,
    timeout: float = 30.0,
    retrier: Retrier | None = None,
) -> MirrorReader:
    """A reader for ``mirror``; ``layout`` (from the cache) skips the probe.

    ``retrier``: the retry policy (and count) shared with the operation's other readers.
    """
    if is_oci(mirror.url):
        from .oci import OciReader

        if not mirror.unsigned:  # Spack has no signing for OCI caches (format doc §1.4)
            raise SignatureError(
                f"mirror '{mirror.name}' is an OCI registry, and Spack's OCI build caches are "
                "never signed",
                hint="if you trust the registry, add it with --unsigned",
            )
        return OciReader(
            mirror.url,
            timeout=timeout,
            retrier=retrier,
            credentials=_credentials(mirror),
            ca_bundle=mirror.ca_bundle,
        )
    from .transport import open_transport

    transport = open_transport(
        mirror.url,
        timeout=timeout,
        s3_endpoint=mirror.s3_endpoint,
        retrier=retrier,
        credentials=_credentials(mirror),
        ca_bundle=mirror.ca_bundle,
        s3_credentials=_s3_credentials(mirror),
    )
    chosen = layout or detect_layout(transport, mirror)
    if chosen == "v3":
        return V3Reader(transport, mirror, keyring)
    if chosen == "v2":
        return V2Reader(transport, mirror, keyring)
    raise MirrorError(f"unknown layout '{chosen}' for mirror '{mirror.name}'")


def _credentials(mirror: MirrorConfig) -> Credentials | None:
    if mirror.url.startswith(("file://", "/")) or "://" not in mirror.url:
        return None
    from .auth import resolve

    return resolve(mirror.auth, mirror.url, mirror.name)


def _s3_credentials(mirror: MirrorConfig) -> S3Credentials | None:
    if not mirror.url.startswith("s3://"):
        return None
    from .s3auth import credential_chain

    return credential_chain()


def detect_layout(transport: Transport, mirror: MirrorConfig) -> str:
    if _exists(transport, index_manifest_path(mirror.view)) or _exists(transport, LAYOUT_PATH):
        return "v3"
    if _exists(transport, INDEX_PATH) or _exists(transport, INDEX_HASH_PATH):
        return "v2"
    if mirror.url.startswith("file://"):
        _refuse_legacy_tree(Path(unquote(urlparse(mirror.url).path)), mirror)
    raise NotFoundError(
        f"no Spack build cache index at {mirror.url} (neither v3/ nor build_cache/index.json)",
        hint="check the URL (it is the directory that contains v3/ or build_cache/); an "
        "un-indexed mirror needs `spack buildcache update-index`",
    )


def _exists(transport: Transport, path: str) -> bool:
    try:
        return transport.exists(path)
    except NotFoundError:
        return False


def _refuse_legacy_tree(root: Path, mirror: MirrorConfig) -> None:
    """A local build_cache/ without index: recognise layout 0 so the error says why."""
    cache = root / "build_cache"
    if not cache.is_dir():
        return
    if next(cache.glob("*.spec.yaml"), None) is not None:
        raise LayoutError(
            f"mirror '{mirror.name}' uses build cache layout 0 (.spec.yaml, Spack <= 0.16), "
            "which is too old",
            hint=LAYOUT0_HINT,
        )
    import json

    for spec_file in cache.glob("*.spec.json"):
        try:
            doc = json.loads(spec_file.read_text())
        except (OSError, ValueError):
            continue
        if not doc.get("buildcache_layout_version"):
            raise LayoutError(
                f"mirror '{mirror.name}' uses build cache layout 0 (nested tarballs, "
                "Spack <= 0.17), which is too old",
                hint=LAYOUT0_HINT,
            )
