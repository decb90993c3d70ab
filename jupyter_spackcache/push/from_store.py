"""Push installed packages from the local store into a v3 build-cache mirror.

The counterpart of installing: each installed prefix is tarballed back into Spack's layout-2
dialect with fresh relocation facts (the install root becomes the ``buildpath``), its
``.spack/spec.json`` becomes the spec blob, and the manifests are signed like
``spack buildcache push`` signs them. Everything that could refuse the push (unknown spec,
missing dependency, unusable key, remote destination) is checked before the first write.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from jupyter_spackcache.errors import MirrorError
from jupyter_spackcache.formats.specfile import SPEC_BLOB_LAYOUT_VERSION, root_node
from jupyter_spackcache.formats.v3layout import spec_manifest_path
from jupyter_spackcache.push.selection import (
    Installed,
    PushError,
    choose_installed,
    choose_signing_key,
    hash_to_prefix,
    push_closure,
    with_dags,
)
from jupyter_spackcache.push.tarball import create_tarball, make_buildinfo
from jupyter_spackcache.push.writer import V3MirrorWriter
from jupyter_spackcache.spec.parser import parse_spec
from jupyter_spackcache.store.layout import StoreLayout
from jupyter_spackcache.store.lock import NodeLock

if TYPE_CHECKING:
    from jupyter_spackcache.store.db import StoreDB
    from jupyter_spackcache.trust import Keyring

Action = Literal["pushed", "skipped"]
#: seconds to wait for a node another process is installing or removing
LOCK_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class PushItem:
    """One package ready to be written: where it is installed and what goes into the mirror."""

    name: str
    version: str
    hash: str
    prefix: Path
    install_root: str
    specfile: dict[str, Any] = field(repr=False)
    hash_to_prefix: dict[str, str] = field(repr=False)

    @property
    def short(self) -> str:
        return f"{self.name}@{self.version}/{self.hash[:7]}"

    @property
    def manifest_relpath(self) -> str:
        return spec_manifest_path(self.name, self.version, self.hash)


@dataclass(frozen=True, slots=True)
class PushPlan:
    """What a push will do; complete before anything is written."""

    destination: Path
    signing_key: str | None
    #: dependencies before dependents
    items: tuple[PushItem, ...]
    #: hashes already in the destination that are left as they are
    present: frozenset[str]


@dataclass(frozen=True, slots=True)
class PushedNode:
    name: str
    version: str
    hash: str
    action: Action
    #: bytes of the tarball written (None when skipped)
    size: int | None = None


@dataclass(frozen=True, slots=True)
class PushResult:
    destination: Path
    signed_by: str | None
    nodes: tuple[PushedNode, ...]


Stage = Literal["pushing", "pushed", "skipped"]
#: called as each package starts ("pushing") and ends ("pushed"/"skipped")
PushProgress = Callable[[PushItem, Stage], None]


def local_destination(url_or_dir: str) -> Path:
    """The directory a push writes to: a plain path or a ``file://`` URL, made absolute.

    Remote mirrors are refused for now rather than half-supported: a push must be atomic per
    file, which only a local filesystem gives us here.
    """
    text = url_or_dir.strip()
    if not text:
        raise PushError("no destination given", hint="pass --mirror DIRECTORY")
    if "://" not in text:
        return Path(os.path.abspath(os.path.expanduser(text)))
    parts = urlsplit(text)
    if parts.scheme != "file":
        raise PushError(
            f"cannot push to '{text}': only local directories are supported for now",
            hint="push to a local directory, then serve or upload it (e.g. `aws s3 sync`)",
        )
    if parts.netloc not in ("", "localhost"):
        raise PushError(f"cannot push to '{text}': file URLs must name a local path")
    return Path(os.path.abspath(unquote(parts.path)))


def _check_destination(path: Path) -> None:
    """Refuse early what would fail at the first write: a file, or a directory we cannot write."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    if existing == path and not path.is_dir():
        raise PushError(f"cannot push to {path}: it is a file, not a directory")
    if not existing.is_dir():
        raise PushError(f"cannot push to {path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise PushError(f"cannot push to {path}: {existing} is not writable")


def _read_specfile(item: Installed) -> dict[str, Any]:
    """The spec blob payload: the prefix's ``.spack/spec.json`` (else the stored document)."""
    path = Path(item.record.prefix) / ".spack" / "spec.json"
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = dict(item.record.spec)
    except (OSError, ValueError) as exc:
        raise PushError(f"cannot read {path}: {exc}") from exc
    try:
        found = root_node(document)["hash"]
    except ValueError as exc:
        raise PushError(f"{path} is not a spec file") from exc
    if found != item.record.hash:
        raise PushError(f"{path} describes {found[:7]}, not {item.node.short}")
    return {"spec": document["spec"], "buildcache_layout_version": SPEC_BLOB_LAYOUT_VERSION}


def _item(entry: Installed, prefixes: dict[str, str]) -> PushItem:
    record = entry.record
    prefix = Path(record.prefix)
    if not (prefix / ".spack").is_dir():
        raise PushError(
            f"{entry.node.short} is registered but its prefix {prefix} is missing or incomplete",
            hint=f"reinstall it (`spackcache install /{record.hash[:7]}`)",
        )
    return PushItem(
        name=record.name,
        version=record.version,
        hash=record.hash,
        prefix=prefix,
        install_root=str(record.root).rstrip("/") or "/",
        specfile=_read_specfile(entry),
        hash_to_prefix=hash_to_prefix(entry, prefixes),
    )


def plan_push(
    requests: Sequence[str],
    destination: str,
    *,
    store: StoreDB,
    keyring: Keyring | None,
    key: str | None = None,
    unsigned: bool = False,
    force: bool = False,
) -> PushPlan:
    """Check everything a push needs, without writing; raise the first one-line refusal."""
    if not requests:
        raise PushError("nothing to push", hint="name installed specs, e.g. `zlib@1.3`")
    parsed = [(text, parse_spec(text)) for text in requests]
    path = local_destination(destination)
    _check_destination(path)
    installed = with_dags(store.installed())
    by_hash = {item.record.hash: item for item in installed}
    closure = push_closure(choose_installed(parsed, installed), by_hash.get)
    secrets = [] if unsigned or keyring is None else keyring.list_keys(secret=True)
    signing_key = choose_signing_key(secrets, requested=key, unsigned=unsigned)
    prefixes = {item.record.hash: item.record.prefix for item in closure}
    items = tuple(_item(entry, prefixes) for entry in closure)
    present = frozenset(
        item.hash for item in items if not force and (path / item.manifest_relpath).is_file()
    )
    return PushPlan(path, signing_key, items, present)


def execute_push(
    plan: PushPlan, *, keyring: Keyring | None, progress: PushProgress | None = None
) -> PushResult:
    """Write the planned packages, publish the signing key, then rebuild the index.

    Each package becomes visible only when its manifest is renamed into place (after its
    blobs), so an interrupted push leaves a valid mirror.
    """
    writer = V3MirrorWriter(plan.destination, keyring=keyring, signing_key=plan.signing_key)
    done: list[PushedNode] = []
    with tempfile.TemporaryDirectory(prefix="spackcache-push-") as scratch:
        for item in plan.items:
            if item.hash in plan.present:
                done.append(PushedNode(item.name, item.version, item.hash, "skipped"))
                _notify(progress, item, "skipped")
                continue
            _notify(progress, item, "pushing")
            tarball = _pack(item, Path(scratch) / f"{item.hash}.tar.gz")
            size = tarball.stat().st_size
            with _writing(plan.destination):
                writer.add(item.specfile, tarball)
            tarball.unlink()
            done.append(PushedNode(item.name, item.version, item.hash, "pushed", size))
            _notify(progress, item, "pushed")
    with _writing(plan.destination):
        if plan.signing_key is not None:
            writer.add_key(plan.signing_key)
    try:
        with _writing(plan.destination):
            writer.write_index()
    except MirrorError as exc:
        raise MirrorError(
            f"pushed, but could not rebuild the index of {plan.destination}: {exc}"
        ) from exc
    return PushResult(plan.destination, plan.signing_key, tuple(done))


def _pack(item: PushItem, out: Path) -> Path:
    """The package tarball of one installed prefix, made while nobody can uninstall it."""
    with _node_lock(item):
        if not (item.prefix / ".spack").is_dir():
            raise PushError(f"{item.short} was uninstalled while pushing")
        buildinfo = make_buildinfo(
            item.prefix,
            store_root=item.install_root,
            sbang_path=f"{item.install_root.rstrip('/')}/bin/sbang",
            hash_to_prefix=item.hash_to_prefix,
        )
        try:
            create_tarball(item.prefix, out, buildinfo=buildinfo)
        except OSError as exc:
            raise PushError(
                f"cannot pack {item.short}: {exc.strerror or exc}: {exc.filename or item.prefix}"
            ) from exc
    return out


@contextmanager
def _node_lock(item: PushItem) -> Iterator[None]:
    """The install lock of the node (uninstall takes it too); none in a read-only store."""
    try:
        lock: NodeLock | None = NodeLock(StoreLayout(Path(item.install_root)).locks(), item.hash)
    except OSError:
        lock = None  # nobody can uninstall from a root we cannot even lock in
    if lock is None:
        yield
        return
    with lock.hold(LOCK_TIMEOUT):
        yield


@contextmanager
def _writing(destination: Path) -> Iterator[None]:
    """Writes into the mirror: a full disk or a permission problem becomes one line."""
    try:
        yield
    except OSError as exc:
        raise MirrorError(
            f"cannot write to {destination}: {exc.strerror or exc}",
            hint="the packages written so far are complete; free space and push again",
        ) from exc


def _notify(progress: PushProgress | None, item: PushItem, stage: Stage) -> None:
    if progress is not None:
        progress(item, stage)
