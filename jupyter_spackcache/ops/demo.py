"""Set up the demo mirror: build the bundled stack with gcc, sign it, add it, trust its key.

One use case for ``spackcache demo`` and the panel's "Add the demo mirror" (a server task), so
both leave the same mirror behind. It is safe to ask again: a demo mirror already configured
is left alone, and one built earlier but not configured (the user removed it) is added back
instead of being rebuilt. The stack is built in a scratch directory beside the destination and
moved into place only when complete, so a failed or cancelled build leaves nothing a later
attempt would mistake for a mirror.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config, MirrorConfig, validate_new_mirror
from ..errors import ConfigError, InstallCancelled
from ..mirrors.catalog import Catalog
from ..presets import DEMO_MIRROR_NAME
from .keys import TrustRequest, trust_keys
from .mirrors import MirrorRequest, add_mirror

if TYPE_CHECKING:
    from ..trust import Keyring


@dataclass(frozen=True, slots=True)
class DemoRequest:
    name: str = DEMO_MIRROR_NAME
    #: the mirror directory; None: ``$SPACKCACHE_HOME/demo-mirror``
    dest: Path | None = None


@dataclass(frozen=True, slots=True)
class DemoSetup:
    """What was done: the mirror, the configuration that now holds, and the trusted key."""

    mirror: MirrorConfig
    config: Config
    #: the demo key now trusted (None when the mirror was already configured)
    fingerprint: str | None
    #: "name@version/hash7" of each package built (empty when nothing was built)
    packages: tuple[str, ...]
    #: "configured" (nothing to do), "reused" (added back) or "built"
    outcome: str


def demo_destination(config: Config, request: DemoRequest) -> Path:
    return (request.dest or config.home / "demo-mirror").absolute()


def demo_mirror_config(config: Config, request: DemoRequest) -> MirrorConfig:
    """The mirror entry the demo becomes (what the site policy is asked about)."""
    return MirrorConfig(request.name, demo_destination(config, request).as_uri())


def demo_missing_tool() -> str | None:
    """Why this machine cannot build the demo (no gcc), or None; the policy is asked apart."""
    if shutil.which("gcc") is None:
        return "gcc is not installed on this server, and the demo packages are compiled with it"
    return None


def setup_demo_mirror(
    request: DemoRequest,
    *,
    config: Config,
    keyring: Keyring,
    say: Callable[[str], None] = lambda _message: None,
    cancel: threading.Event | None = None,
) -> DemoSetup:
    """Build (or reuse) the demo mirror, add it and trust its key; ``say`` reports each step."""
    from ..trust import Keyring

    dest = demo_destination(config, request)
    existing = next((m for m in config.mirrors if m.name == request.name), None)
    if existing is not None:
        if existing.url != dest.as_uri():
            raise ConfigError(
                f"a mirror named '{request.name}' already points to {existing.url}",
                hint="choose another name, or remove that mirror first",
            )
        say(f"the demo mirror '{request.name}' is already set up at {dest}")
        return DemoSetup(existing, config, None, (), "configured")
    validate_new_mirror(config, demo_mirror_config(config, request))  # before any work
    reuse = (dest / "v3").exists()
    if not reuse and dest.is_dir() and any(dest.iterdir()):
        raise ConfigError(
            f"{dest} already exists and holds no mirror",
            hint="move it away, or build the demo somewhere else",
        )
    if not reuse:
        from ..demo.build import detect_toolchain

        detect_toolchain()  # no gcc, no glibc: say so before any key or directory is made
    signer_home = config.home / "demo-gnupg"
    packages: tuple[str, ...] = ()
    with Keyring(signer_home) as signer:
        if reuse:
            fingerprint = _reusable_key(config, request, signer, keyring)
            outcome = "reused"
            say(f"adding the demo mirror built earlier at {dest}")
        else:
            fingerprint, packages = _build(dest, signer, say, cancel)
            outcome = "built"
    if cancel is not None and cancel.is_set():
        raise InstallCancelled("demo mirror cancelled before it was added")
    change = add_mirror(MirrorRequest(request.name, str(dest)), config=config, keyring=keyring)
    catalog = Catalog(change.config, keyring)
    try:
        trust_keys(
            TrustRequest(request.name, (fingerprint,)),
            config=change.config,
            catalog=catalog,
            keyring=keyring,
        )
    finally:
        catalog.close()
    say(f"mirror '{request.name}' added; its key {fingerprint} is trusted")
    return DemoSetup(change.mirror, change.config, fingerprint, packages, outcome)


def _build(
    dest: Path, signer: Keyring, say: Callable[[str], None], cancel: threading.Event | None
) -> tuple[str, tuple[str, ...]]:
    from ..demo.build import build_demo_mirror

    dest.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}-building-", dir=dest.parent))
    try:
        say("compiling the demo packages with gcc and signing them with a new demo key")
        built = build_demo_mirror(scratch / "mirror", keyring=signer)
        if cancel is not None and cancel.is_set():
            raise InstallCancelled("demo mirror cancelled; nothing was added")
        os.replace(scratch / "mirror", dest)  # complete, or not there at all
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    assert built.fingerprint is not None
    names = tuple(f"{p.name}@{p.version}/{p.hash[:7]}" for p in built.specs)
    say(f"built {len(names)} packages: {', '.join(n.split('/')[0] for n in names)}")
    return built.fingerprint, names


def _reusable_key(config: Config, request: DemoRequest, signer: Keyring, keyring: Keyring) -> str:
    """The demo key that signed the mirror already at the destination (built here earlier)."""
    from .keys import mirror_keys

    mirror = demo_mirror_config(config, request)
    candidate = replace(config, mirrors=(*config.mirrors, mirror))
    catalog = Catalog(candidate, keyring)
    try:
        published = {k.fingerprint for k in mirror_keys(
            request.name, config=candidate, catalog=catalog, keyring=keyring
        )}  # fmt: skip
    finally:
        catalog.close()
    ours = [k.fingerprint for k in signer.list_keys() if k.fingerprint in published]
    if not ours:
        dest = demo_destination(config, request)
        raise ConfigError(
            f"{dest} already holds a mirror that was not built as this user's demo",
            hint="add it as a mirror yourself if you trust it, or remove that directory",
        )
    return ours[0]
