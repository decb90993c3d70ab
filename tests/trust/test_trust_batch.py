"""Verifying many signed files in shared gpg runs: same verdicts as one run per file, fewer runs.

Real gpg, Spack's own signed v2 fixtures and key; the concurrent callers are real threads.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import jupyter_spackcache.trust.batch as batch
from jupyter_spackcache.errors import SignatureError
from jupyter_spackcache.formats.clearsign import clearsigned_payload
from jupyter_spackcache.trust import Keyring
from jupyter_spackcache.trust.batch import GroupRunner, clean_signer, file_sections, verify_files
from jupyter_spackcache.trust.verdict import Status
from tests.trust.test_trust import BAD_SIGNATURE, SIGNED_JSON, V2_KEY, V2_SIGNED

OPTIONS = ["--always-trust", "--no-random-seed-file", "--no-auto-check-trustdb"]


@pytest.fixture
def v2_keyring() -> Iterator[Keyring]:
    base = Path(tempfile.mkdtemp(prefix="gb", dir="/tmp"))
    keyring = Keyring(base / "h")
    keyring.import_keys((V2_SIGNED / "_pgp" / f"{V2_KEY}.pub").read_text())
    yield keyring
    keyring.close()
    shutil.rmtree(base, ignore_errors=True)


def signed_files() -> list[bytes]:
    files = [p.read_bytes() for p in sorted(V2_SIGNED.glob("*.spec.json.sig"))]
    assert len(files) == 6
    return files


def tampered(message: bytes) -> bytes:
    at = message.index(b'"version"')
    return message[:at] + message[at:].replace(b'"version"', b'"versioN"', 1)


def test_one_run_verifies_every_file_and_returns_what_gpg_signed(v2_keyring: Keyring) -> None:
    files = signed_files()
    checked = verify_files(v2_keyring.home, OPTIONS, files)
    assert len(checked) == len(files)
    for message, result in zip(files, checked, strict=True):
        assert result is not None
        assert result.signer.fingerprint == V2_KEY
        assert result.signer.signed_at == 1747420834
        assert result.data.decode() == clearsigned_payload(message.decode())


def test_a_bad_or_unknown_file_sends_the_whole_batch_back_to_single_runs(
    v2_keyring: Keyring,
) -> None:
    good = signed_files()
    unknown = next(SIGNED_JSON.glob("*.spec.json.sig")).read_bytes()
    for odd in (tampered(good[2]), unknown, b"not signed at all\n"):
        assert verify_files(v2_keyring.home, OPTIONS, [good[0], odd, good[1]]) == [None] * 3
    assert verify_files(v2_keyring.home, OPTIONS, []) == []


def test_concurrent_callers_get_their_own_verdicts_in_fewer_gpg_runs(
    v2_keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []
    real_run = batch.run_gpg

    def counting(home: Path, args: list[str], data: bytes) -> object:
        runs.append(sum(1 for a in args if a.endswith(".asc")))
        time.sleep(0.05)  # a slow gpg: callers pile up behind the first run
        return real_run(home, args, data)

    monkeypatch.setattr(batch, "run_gpg", counting)
    good = signed_files() * 3
    outcomes: dict[int, object] = {}

    def verify(index: int, message: bytes) -> None:
        try:
            outcomes[index] = v2_keyring.verify_clearsigned(message)
        except SignatureError as exc:
            outcomes[index] = exc

    messages = [*good, tampered(good[0])]
    threads = [threading.Thread(target=verify, args=(i, m)) for i, m in enumerate(messages)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for index, message in enumerate(good):
        verified = outcomes[index]
        assert not isinstance(verified, SignatureError), verified
        assert verified.payload == clearsigned_payload(message.decode())  # type: ignore[attr-defined]
    failure = outcomes[len(good)]
    assert isinstance(failure, SignatureError) and str(failure) == BAD_SIGNATURE
    assert sum(runs) == len(messages)  # every file went through a batch once
    assert len(runs) < len(messages) / 2  # ...in a few shared runs
    assert max(runs) > 1


def test_group_runner_serves_every_caller_once_and_survives_a_failing_batch() -> None:
    sizes: list[int] = []

    def doubled(items: list[int]) -> list[int | None]:
        sizes.append(len(items))
        time.sleep(0.02)
        if 13 in items:
            raise RuntimeError("boom")
        return [2 * i for i in items]

    runner: GroupRunner[int, int] = GroupRunner(doubled)
    results: dict[int, int | None] = {}

    def call(i: int) -> None:
        results[i] = runner.run(i)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(sizes) == 40 and len(sizes) < 40
    failed = [i for i, r in results.items() if r is None]
    assert 13 in failed  # its whole batch got None, so those callers verify on their own
    assert all(results[i] == 2 * i for i in range(40) if i not in failed)
    assert runner.run(5) == 10  # idle again: a lone caller runs at once


def status(*lines: str) -> list[Status]:
    out = []
    for line in lines:
        keyword, *args = line.split()
        out.append(Status(keyword, tuple(args)))
    return out


GOOD = (
    "NEWSIG",
    "GOODSIG FA61D50C12CAD37E Spack <spack@example.invalid>",
    f"VALIDSIG {V2_KEY} 2025-05-16 1747420834 0 4 0 1 10 01 {V2_KEY}",
)


def test_file_sections_keep_only_files_gpg_finished() -> None:
    lines = status(
        "FILE_START 3 /tmp/x/0.asc",
        *GOOD,
        "FILE_DONE",
        "FILE_START 3 /tmp/x/1.asc",
        "NEWSIG",
        "BADSIG FA61D50C12CAD37E Spack",
        "FAILURE gpg-exit 1",
    )
    sections = file_sections(lines)
    assert list(sections) == ["/tmp/x/0.asc"]
    signer = clean_signer(sections["/tmp/x/0.asc"])
    assert signer is not None and signer.fingerprint == V2_KEY


@pytest.mark.parametrize(
    "section",
    [
        GOOD[:2],  # no VALIDSIG: gpg did not confirm it
        (*GOOD, *GOOD),  # two signatures
        ("NEWSIG", "ERRSIG FA61D50C12CAD37E 1 10 01 1747420834 9 -"),
        (*GOOD, "NODATA 1"),
    ],
)
def test_anything_but_one_clean_signature_is_left_to_a_single_run(section: tuple[str, ...]) -> None:
    assert clean_signer(status(*section)) is None
