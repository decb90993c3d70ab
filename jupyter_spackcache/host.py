"""What this machine can run: platform, CPU target ancestry (archspec), and libc.

Spack 1.x decides binary compatibility on Linux by target ancestry and libc (not the OS
label); see buildcache-format.md §7. Everything is overridable from config or environment so
tests and admins can pose as another host.
"""

from __future__ import annotations

import os
import platform as _platform
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache

import archspec.cpu

from .config import HostOverrides
from .errors import ConfigError


@dataclass(frozen=True, slots=True)
class Libc:
    name: str
    version: str
    path: str = "/usr"

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(frozen=True, slots=True)
class Host:
    platform: str
    os: str
    target: str
    family: str
    #: the host target first, then its ancestors nearest first: every target whose binaries run here
    compatible_targets: tuple[str, ...]
    libc: Libc | None

    def target_distance(self, target: str) -> int | None:
        """0 for the host target, 1.. for ancestors, None when binaries for it cannot run here."""
        try:
            return self.compatible_targets.index(target)
        except ValueError:
            return None

    def describe(self) -> str:
        libc = f", {self.libc}" if self.libc else ""
        return f"{self.platform}-{self.os}-{self.target}{libc}"


def detect_host(overrides: HostOverrides | None = None) -> Host:
    """The host as Spack would see it, with ``overrides`` applied field by field."""
    overrides = overrides or HostOverrides()
    target_name = overrides.target or _detected_target()
    target = archspec.cpu.TARGETS.get(target_name)
    if target is None:
        raise ConfigError(
            f"unknown CPU target '{target_name}'",
            hint="use an archspec target name such as x86_64_v3, zen2, skylake or aarch64",
        )
    platform = overrides.platform or _detected_platform()
    libc = _parse_libc(overrides.libc) if overrides.libc is not None else _detected_libc()
    return Host(
        platform=platform,
        os=overrides.os or _detected_os(),
        target=target.name,
        family=str(target.family.name),
        compatible_targets=(target.name, *(a.name for a in target.ancestors)),
        libc=libc,
    )


@lru_cache(maxsize=1)
def _detected_target() -> str:
    return str(archspec.cpu.host().name)


def _detected_platform() -> str:
    return {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(
        sys.platform, sys.platform.rstrip("0123456789")
    )


@lru_cache(maxsize=1)
def _detected_os() -> str:
    """Spack-style OS label (``debian12``, ``ubuntu22.04``, ``rhel9``)."""
    if sys.platform == "darwin":
        return "macos" + _platform.mac_ver()[0].split(".")[0]
    try:
        info = _platform.freedesktop_os_release()
    except OSError:
        return "unknown"
    ident = info.get("ID", "linux")
    version = info.get("VERSION_ID", "")
    if ident in {"rhel", "centos", "rocky", "almalinux", "fedora", "sles", "debian"}:
        version = version.split(".")[0]
    return f"{ident}{version}"


@lru_cache(maxsize=1)
def _detected_libc() -> Libc | None:
    """The libc of the running Python, found as Spack 1.x finds it.

    Spack reads the dynamic linker of ``sys.executable`` (PT_INTERP), takes the libc prefix from
    where that linker really lives (``/lib64/ld-linux-x86-64.so.2`` -> ``/usr/lib/...`` ->
    ``/usr``), and asks the linker for its version; the prefix is what cached DAGs' external
    ``glibc`` nodes must match.
    """
    if not sys.platform.startswith("linux"):
        return None
    return _libc_from_dynamic_linker(_interpreter(sys.executable)) or _libc_from_confstr()


def _interpreter(executable: str) -> str | None:
    from .formats.elf import ElfError, read_elf_paths

    try:
        with open(executable, "rb") as fh:
            paths = read_elf_paths(fh.read())
    except (OSError, ElfError):
        return None
    if paths is None or paths.interpreter is None:
        return None
    return paths.interpreter.value.decode("utf-8", "replace")


def _libc_from_dynamic_linker(linker: str | None) -> Libc | None:
    if not linker or not os.path.exists(linker):
        return None
    directory = os.path.dirname(os.path.realpath(linker))
    if os.path.basename(directory) not in (
        "lib",
        "lib64",
    ):  # a multiarch dir, e.g. x86_64-linux-gnu
        directory = os.path.dirname(directory)
    if os.path.basename(directory) not in ("lib", "lib64"):
        return None  # a non-standard layout: Spack gives up too
    prefix = os.path.dirname(directory)
    try:
        result = subprocess.run(
            [linker, "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.stderr.startswith("musl libc"):
        found = re.search(r"^Version (.+)$", result.stderr, re.MULTILINE)
        return Libc("musl", found.group(1).strip(), prefix) if found else None
    found = re.search(r"version (\d+\.\d+(?:\.\d+)?)", result.stdout)
    if found and re.search(r"\b(?:gnu|glibc|arm)\b", result.stdout, re.IGNORECASE):
        return Libc("glibc", found.group(1), prefix if prefix != "/" else "/usr")
    return None


def _libc_from_confstr() -> Libc | None:
    try:
        raw = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        raw = ""
    parts = raw.split()
    if len(parts) == 2 and parts[0] == "glibc":
        return Libc("glibc", parts[1], "/usr")
    return None


def _parse_libc(text: str) -> Libc | None:
    """``glibc@2.36`` or ``glibc@2.36:/usr``; ``none`` turns libc checks off."""
    text = text.strip()
    if text.lower() == "none":
        return None
    name, sep, rest = text.partition("@")
    version, _, path = rest.partition(":")
    if not sep or not name or not version:
        raise ConfigError(
            f"invalid libc override '{text}'",
            hint="write it as NAME@VERSION[:PATH], e.g. glibc@2.36:/usr, or 'none'",
        )
    return Libc(name, version, path or "/usr")
