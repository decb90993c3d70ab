"""Spack environments in and out: install a ``spack.lock``/``spack.yaml``, export a ``spack.lock``.

The use case beside :mod:`.install`, for the three front doors (``spackcache install --from`` and
``lock export``, ``%spack restore --file``/``%spack lock --spack-lock``, ``POST
/installs/from-file``).

In: a ``spack.lock`` (or the project's own notebook lock) is installed *exactly*: its roots by
DAG hash with the DAGs the hashes fix, from the configured mirrors, without resolving anything;
if any build it needs is in no mirror, the error names every such hash and nothing is
installed. A ``spack.yaml`` only says what is wanted, so its ``specs:`` are resolved against the
caches as ``spackcache install`` resolves a spec.

Out: a ``spack.lock`` of installed roots (or of a notebook lock's roots) that Spack 1.x creates
an environment from. Its nodes are taken from the spec files the mirror signed (kept in the
install database for installed nodes, fetched and verified otherwise), unchanged, so
``spack -e ENV install --cache-only`` finds the very same hashes in the same mirror.

The kind of a file is told from its content, not its name: people rename lockfiles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .. import __version__
from ..errors import (
    ConfigError,
    EnvFileError,
    LockedBuildMissing,
    ResolveError,
    SpecSyntaxError,
)
from ..formats.notebook_lock import LOCK_FORMAT, NotebookLock, lock_from_json, lock_in_notebook
from ..formats.spack_env import (
    LockRoot,
    SpackLock,
    SpackManifest,
    looks_like_spack_lock,
    parse_spack_lock,
    parse_spack_manifest,
    render_spack_lock,
)
from ..resolve import BUILD_ONLY, Resolution
from ..spec.concrete import RUNTIME_DEPTYPES
from ..spec.parser import parse_spec
from .install import requested_specs, resolve_install

if TYPE_CHECKING:
    from ..host import Host
    from ..mirrors.catalog import Catalog
    from ..store.db import StoreDB
    from ..store.upstream import UpstreamStore

EnvKind = Literal["spack.lock", "spack.yaml", "notebook lock"]
#: the oldest spec-file format a Spack 1.x lockfile can carry (lockfile version 5 reads format 4)
OLDEST_LOCKABLE_SPECFILE = 4


@dataclass(frozen=True, slots=True)
class Sources:
    """Where builds come from and what is already here (the parts ``ops.install`` takes)."""

    catalog: Catalog
    store: StoreDB
    host: Host
    upstreams: Sequence[UpstreamStore] = ()

    def resolve(self, texts: Sequence[str], *, refresh: bool) -> list[Resolution]:
        return resolve_install(
            requested_specs(texts),
            catalog=self.catalog,
            store=self.store,
            host=self.host,
            upstreams=self.upstreams,
            refresh=refresh,
        )

    def resolve_hash(self, dag_hash: str, *, refresh: bool) -> Resolution:
        """The build with exactly this full DAG hash, if this host can install it."""
        return resolve_install(
            [parse_spec(f"/{dag_hash}")],
            catalog=self.catalog,
            store=self.store,
            host=self.host,
            upstreams=self.upstreams,
            refresh=refresh,
        )[0]


@dataclass(frozen=True, slots=True)
class EnvFile:
    """A parsed environment file: exactly one of ``lock``, ``manifest``, ``notebook`` is set."""

    kind: EnvKind
    source: str
    lock: SpackLock | None = None
    manifest: SpackManifest | None = None
    notebook: NotebookLock | None = None


@dataclass(frozen=True, slots=True)
class EnvInstall:
    """What installing an environment file needs: the resolutions to plan, and what to say."""

    resolutions: list[Resolution]
    #: installed by hash, exactly as locked (False: resolved from abstract specs)
    exact: bool
    notes: list[str] = field(default_factory=list)


# ---- reading ------------------------------------------------------------------------------------


def parse_env_text(text: str, source: str) -> EnvFile:
    """Tell the kind of an environment file from its content and parse it."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise EnvFileError(f"{source} is not valid JSON: {exc}") from None
        return _parse_json(doc, source)
    return EnvFile("spack.yaml", source, manifest=parse_spack_manifest(text, source))


def _parse_json(doc: Any, source: str) -> EnvFile:
    if looks_like_spack_lock(doc):
        return EnvFile("spack.lock", source, lock=parse_spack_lock(doc, source))
    if isinstance(doc, dict) and doc.get("format") == LOCK_FORMAT:
        return EnvFile("notebook lock", source, notebook=lock_from_json(doc, source))
    if isinstance(doc, dict) and "nbformat" in doc:
        kept = lock_in_notebook(doc, source)
        if kept is None:
            raise EnvFileError(
                f"{source} is a notebook without a jupyter-spackcache lock",
                hint="run `%spack lock` in it first",
            )
        return EnvFile("notebook lock", source, notebook=kept)
    raise EnvFileError(
        f"{source} is neither a spack.lock, a spack.yaml nor a jupyter-spackcache lock"
    )


def read_env_file(path: Path) -> EnvFile:
    """Read and parse an environment file; a missing or unreadable file is one clear error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvFileError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvFileError(f"cannot read {path}: {exc}") from None
    return parse_env_text(text, str(path))


def spack_env_file(path: Path) -> EnvFile | None:
    """The ``spack.lock``/``spack.yaml`` at ``path``; None when the file is missing or is not
    a Spack environment file (a notebook lock, say), so the caller's own reader can explain."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.lstrip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        if not looks_like_spack_lock(doc):
            return None
        return EnvFile("spack.lock", str(path), lock=parse_spack_lock(doc, str(path)))
    return EnvFile("spack.yaml", str(path), manifest=parse_spack_manifest(text, str(path)))


# ---- installing ---------------------------------------------------------------------------------


def env_resolutions(sources: Sources, env: EnvFile) -> EnvInstall:
    """The resolutions that install ``env``; raises before anything is installed when the
    mirrors cannot provide every locked build, or a spec of a ``spack.yaml`` has no fit."""
    if env.manifest is not None:
        return _manifest_resolutions(sources, env.manifest, env.source)
    if env.lock is not None:
        lock = env.lock
        needed = lock.closure([r.hash for r in lock.roots], deptypes=RUNTIME_DEPTYPES)
        required = [
            (h, _label(lock.nodes[h], h))
            for h in needed
            if not lock.nodes[h].get("external") and lock.nodes[h].get("name") not in BUILD_ONLY
        ]
        roots = [(r.hash, _label(lock.nodes[r.hash], r.hash)) for r in lock.roots]
        notes = [
            f"{env.source}: also installs the roots of the included environment {p}"
            for p in lock.included
        ]
    elif env.notebook is not None:
        required = [(n.hash, f"{n.name}@{n.version}/{n.hash}") for n in env.notebook.nodes]
        roots = [(n.hash, f"{n.name}@{n.version}/{n.hash}") for n in env.notebook.roots]
        notes = []
    else:  # pragma: no cover - EnvFile always holds one of the three
        raise EnvFileError(f"{env.source} holds nothing to install")
    return EnvInstall(exact_resolutions(sources, roots, required, env.source), True, notes)


def exact_resolutions(
    sources: Sources,
    roots: Sequence[tuple[str, str]],
    required: Sequence[tuple[str, str]],
    source: str,
) -> list[Resolution]:
    """Resolve each root by its full DAG hash; ``required`` are the (hash, label) of every
    build the install needs. Every missing one is named at once, before anything happens."""
    if not roots:
        raise EnvFileError(f"{source} has no roots to install")
    indices, _problems = sources.catalog.indices(refresh=True)
    store, upstreams = sources.store, sources.upstreams

    def available(h: str) -> bool:
        return (
            store.has(h)
            or any(u.has(h) for u in upstreams)
            or any(index.in_buildcache(h) for index in indices)
        )

    missing = [label for h, label in required if not available(h)]
    if missing:
        raise LockedBuildMissing(
            f"{len(missing)} locked build(s) of {source} in no configured mirror: "
            + ", ".join(missing),
            hint="add the mirror the environment was built into (`spackcache mirror add`), or "
            "install its spack.yaml to resolve other builds; nothing was installed",
        )
    out: list[Resolution] = []
    for h, label in roots:
        resolution = sources.resolve_hash(h, refresh=False)
        chosen = resolution.chosen
        if chosen is None or chosen.root.hash != h:
            raise ResolveError(
                f"cannot install the locked {label}: {resolution.explain()}",
                hint="the lock was made for another kind of machine; install its spack.yaml "
                "to resolve builds this host can run",
            )
        out.append(resolution)
    return out


def task_specs(env: EnvFile, wanted: EnvInstall) -> list[str]:
    """Spec strings that install the same thing in another process: each locked root by its
    full DAG hash (which fixes its whole DAG), or the specs of a ``spack.yaml``."""
    if env.manifest is not None:
        return list(env.manifest.specs)
    return [f"/{r.raise_if_unresolved().root.hash}" for r in wanted.resolutions]


def _manifest_resolutions(sources: Sources, manifest: SpackManifest, source: str) -> EnvInstall:
    if not manifest.specs:
        raise EnvFileError(f"{source} lists no specs", hint="add them under 'spack: specs:'")
    notes = [
        f"{source}: ignored section '{name}' (line {line}); a binary install only uses 'specs'"
        for name, line in manifest.ignored
    ]
    try:
        resolutions = sources.resolve(manifest.specs, refresh=True)
    except SpecSyntaxError as exc:  # the caret shows the spec; say which file it came from
        exc.hint = f"a spec under 'specs:' in {source}" + (f"; {exc.hint}" if exc.hint else "")
        raise
    for resolution in resolutions:
        resolution.raise_if_unresolved()
    return EnvInstall(resolutions, False, notes)


def _label(node: Mapping[str, Any], h: str) -> str:
    return f"{node.get('name')}@{node.get('version', '?')}/{h}"


# ---- exporting ----------------------------------------------------------------------------------

#: the signed spec-file document of a root, by DAG hash (install database, else a mirror)
DocumentSource = Callable[[str], dict[str, Any]]


def lock_from_documents(
    roots: Sequence[tuple[str, str]], documents: DocumentSource, *, version: int | None = None
) -> str:
    """The ``spack.lock`` text for ``roots`` ((hash, spec) pairs); every node comes unchanged
    from the spec file of the root it belongs to, which holds the root's whole DAG."""
    if not roots:
        raise EnvFileError(
            "nothing to export: no installed roots",
            hint="install something first, or pass a notebook lock with --from",
        )
    nodes: dict[str, dict[str, Any]] = {}
    for h, _spec in roots:
        document = documents(h)
        spec = document.get("spec") if isinstance(document, dict) else None
        meta = spec.get("_meta", {}) if isinstance(spec, dict) else {}
        fmt = meta.get("version") if isinstance(meta, dict) else None
        if not isinstance(fmt, int) or fmt < OLDEST_LOCKABLE_SPECFILE:
            raise EnvFileError(
                f"the build /{h} has spec-file format {fmt}, older than any Spack 1.x "
                "lockfile can hold",
                hint="rebuild it with Spack 0.22 or later, or leave it out of the export",
            )
        assert isinstance(spec, dict)  # checked with its _meta above
        for node in spec["nodes"]:
            nodes.setdefault(node["hash"], node)
        if h not in nodes:
            raise EnvFileError(f"the spec file of /{h} does not describe it")
    return render_spack_lock(
        [LockRoot(h, s) for h, s in roots],
        nodes,
        writer=f"jupyter-spackcache {__version__}",
        version=version,
    )


def installed_roots(store: StoreDB) -> list[tuple[str, str]]:
    """(hash, spec) of every explicitly installed package, by name."""
    return [(r.hash, f"{r.name}@{r.version}") for r in store.installed() if r.explicit]


def notebook_roots(lock: NotebookLock) -> list[tuple[str, str]]:
    return [(n.hash, f"{n.name}@{n.version}") for n in lock.roots]


def signed_documents(sources: Sources) -> DocumentSource:
    """Spec files as the mirror signed them: from the install database when the build is
    installed here, else fetched from a configured mirror and verified."""

    def document(h: str) -> dict[str, Any]:
        record = sources.store.get(h)
        if record is not None:
            return record.spec
        resolution = sources.resolve_hash(h, refresh=True)
        for candidate in resolution.candidates:
            if candidate.root.hash != h or candidate.source == "installed":
                continue
            try:
                reader = sources.catalog.reader_named(candidate.source)
            except ConfigError:  # an upstream Spack store, not a mirror: no signed spec file
                continue
            return reader.fetch_spec(candidate.root, candidate.dag).document
        raise LockedBuildMissing(
            f"the build /{h} is neither installed nor in a configured mirror",
            hint="add the mirror it came from (see the notebook lock's mirrors)",
        )

    return document


def export_lock(sources: Sources, notebook: NotebookLock | None = None) -> str:
    """The ``spack.lock`` text of the installed roots, or of ``notebook``'s roots."""
    roots = notebook_roots(notebook) if notebook is not None else installed_roots(sources.store)
    return lock_from_documents(roots, signed_documents(sources))


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
