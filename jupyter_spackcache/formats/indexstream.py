"""Stream the records of a Spack database / binary index without holding the whole tree.

Public indices are hundreds of MB of JSON. ``json.loads`` on them builds every dict at once
(several times the file size in RAM). Here the C scanner of the standard library decodes one
record at a time from a sliding text window, so peak memory stays near the compact form we keep,
while the speed stays that of the C decoder. The indices we write are small: :func:`merge_index`
and :func:`render_index` build them whole.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..errors import MirrorError
from .v3layout import compact_json

_WS = re.compile(r"[ \t\n\r]*")
_CHUNK = 1 << 22


@dataclass
class IndexHeader:
    """Top-level facts learned while streaming (filled in as they are met)."""

    version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _Window:
    """A sliding window of decoded text over a byte stream."""

    def __init__(self, stream: BinaryIO, chunk: int) -> None:
        self._stream = stream
        self._chunk = chunk
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        """Append one more chunk; False at end of stream."""
        if self.eof:
            return False
        raw = self._stream.read(self._chunk)
        if not raw:
            self.eof = True
            tail = self._decoder.decode(b"", final=True)
            self.buf = self.buf[self.pos :] + tail
            self.pos = 0
            return bool(tail)
        self.buf = self.buf[self.pos :] + self._decoder.decode(raw)
        self.pos = 0
        return True

    def skip_ws(self) -> None:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self.fill():
                return

    def peek(self) -> str:
        self.skip_ws()
        return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def expect(self, char: str) -> None:
        got = self.peek()
        if got != char:
            raise _syntax(f"expected '{char}' but found {got!r}" if got else f"expected '{char}'")
        self.pos += 1

    def value(self, decoder: json.JSONDecoder) -> Any:
        """Decode one JSON value at the cursor, pulling more text until it is complete."""
        self.skip_ws()
        while True:
            try:
                obj, end = decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # an incomplete value looks like a syntax error at/near the end of the window
                if not self.eof and self.fill():
                    continue
                raise _syntax(exc.msg) from None
            # a number at the very end of the window may continue in the next chunk
            at_edge = end == len(self.buf) and not self.eof
            if at_edge and isinstance(obj, int | float) and self.fill():
                continue
            self.pos = end
            return obj


def iter_index_records(
    stream: BinaryIO, header: IndexHeader, *, chunk: int = _CHUNK
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(dag_hash, record)`` for every entry of ``database.installs``.

    ``header.version`` is set when ``database.version`` is met (Spack writes it before
    ``installs``; if it comes later, it is set by the time the iterator is exhausted).
    Raises MirrorError on malformed or truncated input.
    """
    decoder = json.JSONDecoder()
    win = _Window(stream, chunk)
    win.expect("{")
    found = False
    for key in _keys(win, decoder):
        if key == "database":
            found = True
            win.expect("{")
            for dkey in _keys(win, decoder):
                if dkey == "installs":
                    yield from _records(win, decoder)
                elif dkey == "version":
                    header.version = str(win.value(decoder))
                else:
                    header.extra[dkey] = win.value(decoder)
        else:
            win.value(decoder)
    if win.peek():
        raise _syntax("unexpected data after the index document")
    if not found:
        raise _syntax("no 'database' object")


def _keys(win: _Window, decoder: json.JSONDecoder) -> Iterator[str]:
    """Iterate the keys of an object whose '{' was consumed; the caller consumes each value."""
    if win.peek() == "}":
        win.pos += 1
        return
    while True:
        key = win.value(decoder)
        if not isinstance(key, str):
            raise _syntax("object key is not a string")
        win.expect(":")
        yield key
        nxt = win.peek()
        win.pos += 1
        if nxt == "}":
            return
        if nxt != ",":
            raise _syntax(f"expected ',' or '}}' but found {nxt!r}" if nxt else "truncated")


def _records(win: _Window, decoder: json.JSONDecoder) -> Iterator[tuple[str, dict[str, Any]]]:
    win.expect("{")
    for dag_hash in _keys(win, decoder):
        record = win.value(decoder)
        if not isinstance(record, dict):
            raise _syntax(f"record {dag_hash} is not an object")
        yield dag_hash, record


def _syntax(msg: str) -> MirrorError:
    return MirrorError(
        f"the binary index is malformed or truncated ({msg})",
        hint="refresh later; if it persists, the mirror's index needs rebuilding "
        "(`spack buildcache update-index`)",
    )


# ---- writing --------------------------------------------------------------------------------

#: the database version of the indices we write (its nodes are spec format 5)
DB_VERSION = "8"


def merge_index(
    existing: Mapping[str, Mapping[str, Any]],
    specfiles: list[Mapping[str, Any]],
    pushed: set[str],
) -> dict[str, dict[str, Any]]:
    """DB-v8 ``installs`` with every node of every DAG; pure, so it is easy to test.

    A record is ``in_buildcache`` when its hash has a spec manifest in the mirror (or an
    earlier index said so). ``ref_count`` is recomputed as the number of dependents of any
    edge type among the records, which is how Spack counts them in build-cache indices.
    """
    nodes: dict[str, dict[str, Any]] = {h: dict(r["spec"]) for h, r in existing.items()}
    in_cache = {h for h, r in existing.items() if r.get("in_buildcache")}
    for specfile in specfiles:
        for node in specfile["spec"]["nodes"]:
            nodes.setdefault(node["hash"], dict(node))
    in_cache |= pushed & nodes.keys()
    dependents: dict[str, set[str]] = {h: set() for h in nodes}
    for h, node in nodes.items():
        for dep in node.get("dependencies", ()):
            dependents.setdefault(dep["hash"], set()).add(h)
    return {
        h: {"spec": node, "ref_count": len(dependents[h]), "in_buildcache": h in in_cache}
        for h, node in nodes.items()
    }


def render_index(installs: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The index document in Spack's compact JSON."""
    return compact_json({"database": {"version": DB_VERSION, "installs": installs}})
