"""Verifying many clear-signed files with one gpg run, for the threads that ask at once.

A plan checks one signed manifest per package, and starting one gpg process per package costs
more CPU than the verifying itself (BENCHMARKS.md). ``gpg --decrypt-files`` checks a list of files
in one run and marks each file's status lines with ``FILE_START``/``FILE_DONE`` (gpg's
doc/DETAILS), so one process can serve every thread waiting at that moment (a "group
commit": whoever asks while a run is going joins the next one).

The batch is only a fast path. A file is taken from it only when the whole run exited 0 and
its own section holds exactly one good, valid signature; anything else (a bad or unknown
signature aborts gpg's run for the files after it) returns ``None``, and the caller verifies
that file on its own, which words the error exactly as before.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from ..errors import SignatureError
from .gpg import run_gpg
from .verdict import Signer, Status, parse_status, signer_from_status

T = TypeVar("T")
R = TypeVar("R")

#: status lines that make a file's section unusable from a batch, beyond what
#: :func:`~.verdict.signer_from_status` already refuses (bad, expired, revoked, unknown,
#: missing or several signatures)
_TROUBLE = frozenset(
    {"NODATA", "FAILURE", "ERROR", "BADARMOR", "UNEXPECTED", "BADMDC", "DECRYPTION_FAILED"}
)


@dataclass(frozen=True, slots=True)
class Checked:
    """One file of a batch that gpg verified: its signer and the text gpg says was signed."""

    signer: Signer
    data: bytes


def verify_files(
    home: Path, options: Sequence[str], messages: Sequence[bytes]
) -> list[Checked | None]:
    """Verify clear-signed ``messages`` in one gpg run; ``None`` where a file needs its own run."""
    if not messages:
        return []
    with tempfile.TemporaryDirectory(prefix="spackcache-verify-") as scratch:
        folder = Path(scratch)
        names = []
        for index, message in enumerate(messages):
            (folder / f"{index}.asc").write_bytes(message)
            names.append(str(folder / f"{index}.asc"))
        run = run_gpg(home, [*options, "--decrypt-files", *names], b"")
        if run.returncode != 0:
            return [None] * len(messages)
        sections = file_sections(parse_status(run.stderr))
        out: list[Checked | None] = []
        for index, name in enumerate(names):
            status = sections.get(name)
            signer = clean_signer(status) if status is not None else None
            output = folder / str(index)
            out.append(
                Checked(signer, output.read_bytes())
                if signer is not None and output.is_file()
                else None
            )
        return out


def file_sections(status: Sequence[Status]) -> dict[str, list[Status]]:
    """Each file's complete ``FILE_START ... FILE_DONE`` section, by file name."""
    sections: dict[str, list[Status]] = {}
    current: list[Status] | None = None
    name = ""
    for line in status:
        if line.keyword == "FILE_START":
            current, name = [], " ".join(line.args[1:])
        elif line.keyword == "FILE_DONE":
            if current is not None:
                sections[name] = current
            current = None
        elif current is not None:
            current.append(line)
    return sections


def clean_signer(section: Sequence[Status]) -> Signer | None:
    """The signer when a section shows one good, valid signature and nothing amiss."""
    if any(line.keyword in _TROUBLE for line in section):
        return None
    try:
        return signer_from_status(section, 0, "")
    except SignatureError:
        return None


@dataclass(eq=False)
class _Ticket(Generic[T, R]):
    item: T
    wake: threading.Event = field(default_factory=threading.Event)
    result: R | None = None
    done: bool = False


class GroupRunner(Generic[T, R]):
    """Runs ``batch(items)`` for concurrent callers, one batch at a time.

    The first caller runs a batch of its own item; callers arriving meanwhile queue up, and
    when a batch ends the oldest of them runs the next batch for everyone queued. A caller
    returns as soon as its own batch is done. A failing batch gives ``None`` to each caller.
    """

    def __init__(self, batch: Callable[[list[T]], Sequence[R | None]]) -> None:
        self._batch = batch
        self._lock = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._busy = False

    def run(self, item: T) -> R | None:
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._lock:
            self._queue.append(ticket)
            lead = not self._busy
            self._busy = True
        if not lead:
            ticket.wake.wait()
            if ticket.done:
                return ticket.result
        with self._lock:  # leading now: everyone queued (this ticket first) goes in
            taken, self._queue = self._queue, []
        results: Sequence[R | None] = ()
        try:
            results = self._batch([t.item for t in taken])
        except Exception:
            pass  # no verdicts: each caller falls back to its own run
        finally:
            if len(results) != len(taken):
                results = [None] * len(taken)
            for t, result in zip(taken, results, strict=True):
                t.result, t.done = result, True
                if t is not ticket:
                    t.wake.set()
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()  # it leads the next batch
                else:
                    self._busy = False
        return ticket.result
