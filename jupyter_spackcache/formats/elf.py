"""Just enough ELF to rewrite RPATH/RUNPATH and the interpreter path in place (§6.3, pass 1).

A small reader for 32/64-bit, little/big-endian ELF executables and shared libraries: it
finds ``PT_INTERP`` and, through ``PT_DYNAMIC``, the ``DT_RPATH``/``DT_RUNPATH`` string in the
dynamic string table (located via ``DT_STRTAB``/``DT_STRSZ`` and the ``PT_LOAD`` segments, so
stripped section headers do not matter). Rewrites never move anything: the new string must
fit in the old one's bytes, the rest is NUL-filled.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

ELF_MAGIC = b"\x7fELF"
_ET_EXEC, _ET_DYN = 2, 3
_PT_LOAD, _PT_DYNAMIC, _PT_INTERP = 1, 2, 3
_DT_NULL, _DT_STRTAB, _DT_STRSZ, _DT_RPATH, _DT_RUNPATH = 0, 5, 10, 15, 29


class ElfError(ValueError):
    """The file looks like ELF but its structure is broken."""


class GrowError(ValueError):
    """A rewritten path would need more bytes than the original string has."""


@dataclass(frozen=True)
class CString:
    """A NUL-terminated string at a file offset; ``value`` excludes the NUL."""

    offset: int
    value: bytes


@dataclass(frozen=True)
class ElfPaths:
    """The relocatable strings of one ELF file."""

    interpreter: CString | None
    rpath: CString | None
    is_runpath: bool


@dataclass(frozen=True)
class _Layout:
    order: str
    is64: bool

    @property
    def addr(self) -> str:
        return "Q" if self.is64 else "I"


def is_elf(data: bytes) -> bool:
    return data[:4] == ELF_MAGIC


def read_elf_paths(data: bytes) -> ElfPaths | None:
    """The interpreter and rpath of an ELF executable or shared library, else None.

    Returns None for non-ELF data and ELF files that are neither (objects, core dumps).
    Raises :class:`ElfError` when the headers point outside the file.
    """
    if not is_elf(data) or len(data) < 16:
        return None
    ei_class, ei_data = data[4], data[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise ElfError("unknown ELF class or byte order")
    lay = _Layout(order="<" if ei_data == 1 else ">", is64=ei_class == 2)
    try:
        return _read(data, lay)
    except struct.error as exc:
        raise ElfError(f"truncated ELF structure: {exc}") from exc


def _read(data: bytes, lay: _Layout) -> ElfPaths | None:
    header = struct.Struct(f"{lay.order}HHI{lay.addr}{lay.addr}{lay.addr}IHHHHHH")
    (e_type, _, _, _, e_phoff, _, _, _, e_phentsize, e_phnum, _, _, _) = header.unpack_from(
        data, 16
    )
    if e_type not in (_ET_EXEC, _ET_DYN):
        return None
    phdr = struct.Struct(f"{lay.order}IIQQQQQQ" if lay.is64 else f"{lay.order}IIIIIIII")
    if e_phnum and e_phentsize < phdr.size:
        raise ElfError("program header entries are too small")

    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
    interp: tuple[int, int] | None = None
    dynamic: tuple[int, int] | None = None
    for i in range(e_phnum):
        fields = phdr.unpack_from(data, e_phoff + i * e_phentsize)
        if lay.is64:
            p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = fields
        else:
            p_type, p_offset, p_vaddr, _, p_filesz, _, _, _ = fields
        if p_filesz == 0:
            continue
        if p_offset + p_filesz > len(data):
            raise ElfError("a segment extends past the end of the file")
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_INTERP:
            interp = (p_offset, p_filesz)
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)

    interpreter = None
    if interp is not None:
        interpreter = _c_string(data, interp[0], interp[0] + interp[1])
    rpath, is_runpath = _read_rpath(data, lay, dynamic, loads) if dynamic else (None, False)
    return ElfPaths(interpreter, rpath, is_runpath)


def _read_rpath(
    data: bytes,
    lay: _Layout,
    dynamic: tuple[int, int],
    loads: Sequence[tuple[int, int, int]],
) -> tuple[CString | None, bool]:
    entry = struct.Struct(f"{lay.order}qQ" if lay.is64 else f"{lay.order}iI")
    offset, size = dynamic
    strtab = strsz = None
    found: list[tuple[int, int]] = []  # (tag, string offset)
    for pos in range(offset, offset + size - entry.size + 1, entry.size):
        tag, value = entry.unpack_from(data, pos)
        if tag == _DT_NULL:
            break
        if tag == _DT_STRTAB:
            strtab = value
        elif tag == _DT_STRSZ:
            strsz = value
        elif tag in (_DT_RPATH, _DT_RUNPATH):
            found.append((tag, value))
    if not found:
        return None, False
    if len(found) > 1:
        raise ElfError("more than one DT_RPATH/DT_RUNPATH entry")
    if strtab is None:
        raise ElfError("dynamic section has no DT_STRTAB")
    table = _vaddr_to_offset(strtab, loads)
    end = table + strsz if strsz is not None else len(data)
    tag, string_offset = found[0]
    return _c_string(data, table + string_offset, min(end, len(data))), tag == _DT_RUNPATH


def _vaddr_to_offset(vaddr: int, loads: Sequence[tuple[int, int, int]]) -> int:
    for seg_vaddr, seg_offset, seg_size in loads:
        if seg_vaddr <= vaddr < seg_vaddr + seg_size:
            return seg_offset + (vaddr - seg_vaddr)
    raise ElfError(f"address {vaddr:#x} is not in any loaded segment")


def _c_string(data: bytes, start: int, end: int) -> CString:
    nul = data.find(b"\0", start, end)
    if start >= end or nul == -1:
        raise ElfError(f"string at offset {start:#x} is not NUL-terminated")
    return CString(start, data[start:nul])


# --------------------------------------------------------------------------------- rewrite

Patch = tuple[int, bytes]


def substitute_prefix(path: bytes, prefix_map: Sequence[tuple[bytes, bytes]]) -> bytes:
    """``path`` with its leading old prefix (first match in map order) replaced."""
    for old, new in prefix_map:
        if path.startswith(old):
            return new + path[len(old) :]
    return path


def rewrite_patches(paths: ElfPaths, prefix_map: Sequence[tuple[bytes, bytes]]) -> list[Patch]:
    """In-place patches relocating the rpath entries and the interpreter.

    Empty rpath entries are dropped (padding ``::::``), which only ever helps the new string
    fit. Raises :class:`GrowError` when either string would grow.
    """
    patches: list[Patch] = []
    if paths.rpath is not None:
        entries = [e for e in paths.rpath.value.split(b":") if e]
        new_entries = [substitute_prefix(e, prefix_map) for e in entries]
        if new_entries != entries:
            patches.append(_fit(paths.rpath, b":".join(new_entries), "rpath"))
    if paths.interpreter is not None:
        new_interp = substitute_prefix(paths.interpreter.value, prefix_map)
        if new_interp != paths.interpreter.value:
            patches.append(_fit(paths.interpreter, new_interp, "interpreter"))
    return patches


def _fit(old: CString, new: bytes, what: str) -> Patch:
    if len(new) > len(old.value):
        raise GrowError(
            f"the new {what} {new.decode(errors='replace')} is longer than the old "
            f"{old.value.decode(errors='replace')}"
        )
    return old.offset, new + b"\0" * (len(old.value) - len(new))
