"""The private keyring against real keys: Spack's own signed fixtures and keys made here.

Every test gets its own short GnuPG home under /tmp (gpg-agent sockets must fit in 108 bytes)
and stops any agent it started.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jupyter_spackcache.errors import SignatureError, SpackCacheError
from jupyter_spackcache.formats.clearsign import clearsigned_payload, is_clearsigned
from jupyter_spackcache.trust import Keyring
from jupyter_spackcache.trust.pygpg import TimedGPG
from jupyter_spackcache.trust.verdict import parse_status, signer_from_status
from tests.support.fixtures import FIXTURES as SHARED_FIXTURES

FIXTURES = SHARED_FIXTURES
V2_SIGNED = FIXTURES / "spack-upstream/mirrors/v2_layout/signed/build_cache"
V2_KEY = "CBAB2C1032C6FF5078049EC0FA61D50C12CAD37E"
V3_SIGNED = FIXTURES / "spack-generated-v3/signed"
V3_KEY = "A358A2B23D17CD40509D16452938BA2C1D71B509"
SIGNED_JSON = FIXTURES / "spack-upstream/mirrors/signed_json"

BAD_SIGNATURE = "signature does not match the signed text: the file was altered"
TRUST_COMMAND = "spackcache keys trust --mirror NAME"


# ---- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def new_keyring() -> Iterator[Callable[..., Keyring]]:
    """Factory of keyrings, each in its own short home, cleaned up (agents stopped) after."""
    made: list[tuple[Keyring, Path]] = []

    def make(home: Path | None = None) -> Keyring:
        base = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
        keyring = Keyring(home or base / "h")
        made.append((keyring, base))
        return keyring

    yield make
    for keyring, base in made:
        keyring.close()
        if keyring.gpg_home != keyring.home:
            keyring.gpg_home.unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(keyring.home, ignore_errors=True)


@pytest.fixture
def keyring(new_keyring: Callable[..., Keyring]) -> Keyring:
    return new_keyring()


@pytest.fixture
def v2_keyring(keyring: Keyring) -> Keyring:
    keyring.import_keys((V2_SIGNED / "_pgp" / f"{V2_KEY}.pub").read_text())
    return keyring


def gpg(home: Path, *args: str, stdin: bytes = b"") -> bytes:
    """Plain gpg on a test home, for what the Keyring deliberately cannot do (e.g. revoke)."""
    done = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--pinentry-mode", "loopback", *args],
        input=stdin,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return done.stdout


def sign_as(keyring: Keyring, name: str) -> tuple[str, str]:
    """A fresh fast key and a clear-signed JSON document made with it."""
    key = keyring.create_key(name, f"{name.split()[0].lower()}@example.invalid", key_length=2048)
    return key.fingerprint, keyring.sign_clear('{"name": "zlib"}\n', key.fingerprint)


def v2_signed_file() -> str:
    return sorted(V2_SIGNED.glob("*.spec.json.sig"))[0].read_text()


def v3_blob(checksum: str) -> Path:
    return V3_SIGNED / "blobs" / "sha256" / checksum[:2] / checksum


# ---- Spack's signed fixtures --------------------------------------------------------------------


def test_v2_signed_specs_verify_and_payload_is_the_spec(v2_keyring: Keyring) -> None:
    signed = sorted(V2_SIGNED.glob("*.spec.json.sig"))
    assert len(signed) == 6
    for path in signed:
        verified = v2_keyring.verify_clearsigned(path.read_bytes())
        assert verified.fingerprint == V2_KEY
        assert verified.signed_at == 1747420834  # 2025-05-16, as the fixture README says
        spec = json.loads(verified.payload)
        node_hash = path.name.removesuffix(".spec.json.sig").rsplit("-", 1)[1]
        assert spec["spec"]["nodes"][0]["hash"] == node_hash
        assert verified.payload == clearsigned_payload(path.read_text())


def test_v3_signed_manifests_verify_with_the_key_the_mirror_ships(keyring: Keyring) -> None:
    key_manifest = V3_SIGNED / "v3/manifests/key" / f"{V3_KEY}.key.manifest.json"
    (record,) = json.loads(key_manifest.read_text())["data"]
    assert record["mediaType"] == "application/pgp-keys"
    armored = v3_blob(record["checksum"]).read_text()
    assert [key.fingerprint for key in keyring.inspect(armored)] == [V3_KEY]
    (key,) = keyring.import_keys(armored, only=[V3_KEY])
    assert key.uids == (
        "Spack client fixture key (throwaway) (GPG created for Spack) <fixture@example.invalid>",
    )

    manifests = sorted((V3_SIGNED / "v3/manifests/spec").glob("*/*.spec.manifest.json"))
    assert len(manifests) == 6
    for path in manifests:
        verified = keyring.verify_clearsigned(path.read_text(), allowed=[V3_KEY])
        assert verified.fingerprint == V3_KEY
        manifest = json.loads(verified.payload)
        assert manifest["version"] == 3
        (spec_record,) = [r for r in manifest["data"] if "spec" in r["mediaType"]]
        blob = v3_blob(spec_record["checksum"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == spec_record["checksum"]
        spec = json.loads(gzip.decompress(blob))
        assert path.name.endswith(f"-{spec['spec']['nodes'][0]['hash']}.spec.manifest.json")


def test_v3_manifest_is_not_accepted_with_only_the_old_v2_key(v2_keyring: Keyring) -> None:
    manifest = next((V3_SIGNED / "v3/manifests/spec").glob("*/*.json")).read_text()
    with pytest.raises(SignatureError) as caught:
        v2_keyring.verify_clearsigned(manifest)
    assert str(caught.value) == f"signed by key {V3_KEY}, which is not in the trusted keyring"


def test_unknown_key_names_the_key_and_what_to_do(keyring: Keyring) -> None:
    (path,) = SIGNED_JSON.glob("*.spec.json.sig")
    text = path.read_text()
    with pytest.raises(SignatureError) as caught:
        keyring.verify_clearsigned(text)
    message = str(caught.value)
    assert "4344E0F76500AF9D" in message
    assert message == (
        "signed by key CFC0068F8CC765EE0E688D8E4344E0F76500AF9D, "
        "which is not in the trusted keyring"
    )
    assert caught.value.hint is not None and TRUST_COMMAND in caught.value.hint
    assert "\n" not in message
    # the body can still be read without verification
    spec = json.loads(clearsigned_payload(text))
    assert spec["spec"]["nodes"][0]["name"] == "zlib"


# ---- tampering ----------------------------------------------------------------------------------


def test_one_changed_byte_is_a_bad_signature(v2_keyring: Keyring) -> None:
    text = v2_signed_file()
    position = text.index('"version"')
    altered = text[:position] + text[position:].replace('"version"', '"versioN"', 1)
    assert len(altered) == len(text)
    with pytest.raises(SignatureError) as caught:
        v2_keyring.verify_clearsigned(altered)
    assert str(caught.value) == BAD_SIGNATURE


def test_text_appended_after_the_signature_is_refused(v2_keyring: Keyring) -> None:
    text = v2_signed_file()
    assert v2_keyring.verify_clearsigned(text + "\n\n").payload == clearsigned_payload(text)
    for extra in ('{"spec": "evil"}\n', v2_signed_file()):
        with pytest.raises(SignatureError, match="unsigned text follows the signature block"):
            v2_keyring.verify_clearsigned(text + extra)


def test_text_before_the_message_is_not_clear_signed(v2_keyring: Keyring) -> None:
    with pytest.raises(SignatureError, match=r"^not clear-signed: the text does not start with"):
        v2_keyring.verify_clearsigned('{"spec": "evil"}\n' + v2_signed_file())
    with pytest.raises(SignatureError, match=r"^not clear-signed"):
        v2_keyring.verify_clearsigned(b'{"spec": {}}')
    assert not is_clearsigned('{"spec": {}}')


def test_truncated_message_is_malformed(v2_keyring: Keyring) -> None:
    text = v2_signed_file()
    cut = text[: text.index("-----END PGP SIGNATURE-----")]
    with pytest.raises(SignatureError, match=r"^malformed clear-signed message: the signature"):
        v2_keyring.verify_clearsigned(cut)
    with pytest.raises(SignatureError, match=r"^malformed clear-signed message"):
        clearsigned_payload(cut)


def test_pinned_fingerprints_reject_another_signer(v2_keyring: Keyring) -> None:
    text = v2_signed_file()
    spaced = " ".join(V2_KEY[i : i + 4] for i in range(0, 40, 4)).lower()
    assert v2_keyring.verify_clearsigned(text, allowed=[spaced]).fingerprint == V2_KEY
    with pytest.raises(SignatureError) as caught:
        v2_keyring.verify_clearsigned(text, allowed=[V3_KEY])
    assert str(caught.value) == f"signed by key {V2_KEY}, which is not a pinned key of this mirror"
    with pytest.raises(SignatureError, match="not a key fingerprint: 'FA61D50C12CAD37E'"):
        v2_keyring.verify_clearsigned(text, allowed=["FA61D50C12CAD37E"])


def test_two_signatures_are_refused(keyring: Keyring) -> None:
    first = keyring.create_key("First Signer", "first@example.invalid", key_length=2048)
    second = keyring.create_key("Second Signer", "second@example.invalid", key_length=2048)
    signed = gpg(
        keyring.gpg_home,
        "--clearsign",
        "-u",
        first.fingerprint,
        "-u",
        second.fingerprint,
        stdin=b'{"a": 1}\n',
    ).decode()
    with pytest.raises(SignatureError, match="carries 2 signatures; expected exactly one"):
        keyring.verify_clearsigned(signed)


# ---- keys made here -----------------------------------------------------------------------------


def test_create_sign_verify_round_trip(keyring: Keyring) -> None:
    key = keyring.create_key("Test Signer", "signer@example.invalid", key_length=2048)
    assert key.uids == ("Test Signer <signer@example.invalid>",)
    assert (key.algorithm, key.length, key.has_secret, key.expires) == ("RSA", 2048, True, None)
    assert len(key.fingerprint) == 40 and key.created is not None
    text = '{\n"spec":"x"\n}\n- a line that must be dash-escaped\r\n-----BEGIN not armor\n'
    signed = keyring.sign_clear(text, key.fingerprint)
    assert signed.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n")
    verified = keyring.verify_clearsigned(signed, allowed=[key.fingerprint])
    assert verified.payload == text
    assert verified.fingerprint == key.fingerprint
    assert keyring.list_keys(secret=True) == [key]


def test_exported_key_inspects_the_same_elsewhere_without_importing(
    new_keyring: Callable[..., Keyring],
) -> None:
    signer, other = new_keyring(), new_keyring()
    fingerprint, signed = sign_as(signer, "Export Test")
    armored = signer.export_public(fingerprint)
    assert armored.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    (seen,) = other.inspect(armored)
    assert (seen.fingerprint, seen.uids) == (fingerprint, ("Export Test <export@example.invalid>",))
    assert not seen.has_secret
    assert other.list_keys() == []
    with pytest.raises(SignatureError, match="not in the trusted keyring"):
        other.verify_clearsigned(signed)
    assert other.import_keys(armored) == [seen]
    assert other.verify_clearsigned(signed).payload == '{"name": "zlib"}\n'
    assert other.list_keys(secret=True) == []
    # a keyring that only verifies never starts gpg-agent
    assert not (other.home / "S.gpg-agent").exists()


def test_import_secret_allows_signing_in_another_home(
    new_keyring: Callable[..., Keyring],
) -> None:
    first, second = new_keyring(), new_keyring()
    fingerprint, _ = sign_as(first, "Secret Mover")
    secret = gpg(first.gpg_home, "--armor", "--export-secret-keys", fingerprint).decode()
    with pytest.raises(SignatureError, match="holds no secret key"):
        second.import_secret(first.export_public(fingerprint))
    (key,) = second.import_secret(secret)
    assert key.fingerprint == fingerprint and key.has_secret
    signed = second.sign_clear("moved\n", fingerprint)
    assert first.verify_clearsigned(signed).fingerprint == fingerprint


def test_import_keys_keeps_only_public_parts_and_only_requested_keys(
    new_keyring: Callable[..., Keyring],
) -> None:
    signer, target = new_keyring(), new_keyring()
    wanted, _ = sign_as(signer, "Wanted Key")
    unwanted, _ = sign_as(signer, "Other Key")
    block = gpg(signer.gpg_home, "--armor", "--export-secret-keys", wanted, unwanted).decode()
    assert {key.fingerprint for key in target.inspect(block)} == {wanted, unwanted}

    with pytest.raises(SignatureError) as caught:
        target.import_keys(block, only=[wanted, V2_KEY])
    assert str(caught.value).startswith(f"key {V2_KEY} is not in the key data")
    assert target.list_keys() == []

    (key,) = target.import_keys(block, only=[wanted.lower()])
    assert (key.fingerprint, key.has_secret) == (wanted, False)
    assert [k.fingerprint for k in target.list_keys()] == [wanted]
    assert target.list_keys(secret=True) == []


def test_inspect_rejects_data_without_keys(keyring: Keyring) -> None:
    with pytest.raises(SignatureError, match=r"^no OpenPGP key found in the key data$"):
        keyring.inspect("not a key\n")
    with pytest.raises(SignatureError, match="no OpenPGP key found"):
        keyring.import_keys(v2_signed_file())
    assert keyring.list_keys() == []


def test_remove_deletes_public_and_secret_parts(v2_keyring: Keyring) -> None:
    fingerprint, _ = sign_as(v2_keyring, "Removable Key")
    v2_keyring.remove(fingerprint)
    assert v2_keyring.list_keys(secret=True) == []
    assert [key.fingerprint for key in v2_keyring.list_keys()] == [V2_KEY]
    v2_keyring.remove(V2_KEY.lower())
    assert v2_keyring.list_keys() == []
    with pytest.raises(SpackCacheError) as caught:
        v2_keyring.remove(V2_KEY)
    assert str(caught.value) == f"no key {V2_KEY} in the keyring"
    with pytest.raises(SignatureError, match="not in the trusted keyring"):
        v2_keyring.verify_clearsigned(v2_signed_file())


def test_export_unknown_key_and_sign_without_secret_fail_clearly(v2_keyring: Keyring) -> None:
    with pytest.raises(SpackCacheError, match=f"^no key {V3_KEY} in the keyring$"):
        v2_keyring.export_public(V3_KEY)
    with pytest.raises(SpackCacheError, match=f"^gpg could not sign with key {V2_KEY}: "):
        v2_keyring.sign_clear("text\n", V2_KEY)


def test_create_key_refuses_parameter_injection(keyring: Keyring) -> None:
    with pytest.raises(SpackCacheError, match="unusable key name"):
        keyring.create_key("Name\n%pubring /tmp/x", "a@example.invalid", key_length=2048)
    with pytest.raises(SpackCacheError, match="unusable e-mail address"):
        keyring.create_key("Name", "a@example.invalid\nKey-Length: 512", key_length=2048)
    assert keyring.list_keys() == []


# ---- expiry and revocation ----------------------------------------------------------------------


def test_signature_by_an_expired_key_is_refused(new_keyring: Callable[..., Keyring]) -> None:
    signer, checker = new_keyring(), new_keyring()
    month_ago = ["--faked-system-time", str(int(time.time()) - 30 * 86400)]
    gpg(
        signer.gpg_home,
        *month_ago,
        "--quick-gen-key",
        "--passphrase",
        "",
        "Old Signer <old@example.invalid>",
        "rsa2048",
        "sign",
        "2d",
    )
    (old,) = signer.list_keys()
    signed = gpg(signer.gpg_home, *month_ago, "--clearsign", stdin=b"old\n").decode()
    checker.import_keys(signer.export_public(old.fingerprint))
    with pytest.raises(SignatureError) as caught:
        checker.verify_clearsigned(signed)
    assert str(caught.value) == f"signing key {old.fingerprint} has expired"


def test_signature_by_a_revoked_key_is_refused(keyring: Keyring) -> None:
    fingerprint, signed = sign_as(keyring, "Revoked Signer")
    assert keyring.verify_clearsigned(signed).fingerprint == fingerprint
    certificate = (keyring.home / "openpgp-revocs.d" / f"{fingerprint}.rev").read_text()
    # gpg writes the certificate with a leading ':' so it is not imported by accident
    gpg(
        keyring.gpg_home,
        "--import",
        stdin=certificate.replace(":-----BEGIN", "-----BEGIN").encode(),
    )
    with pytest.raises(SignatureError) as caught:
        keyring.verify_clearsigned(signed)
    assert str(caught.value).startswith(f"signing key {fingerprint} has been revoked")


# ---- paths and processes ------------------------------------------------------------------------


def test_long_home_path_works_for_agent_operations(new_keyring: Callable[..., Keyring]) -> None:
    base = Path(tempfile.mkdtemp(prefix="g", dir="/tmp"))
    home = base / ("spackcache-home-" + "d" * 60) / ("nested-" + "e" * 50) / "gnupg"
    assert len(str(home)) >= 140
    keyring = new_keyring(home)
    try:
        assert keyring.home == home and (home.stat().st_mode & 0o777) == 0o700
        assert len(str(keyring.gpg_home)) < 60 and keyring.gpg_home.resolve() == home
        fingerprint, signed = sign_as(keyring, "Long Home")
        assert keyring.verify_clearsigned(signed).fingerprint == fingerprint
        # the same home reached again gets the same alias
        assert Keyring(home).gpg_home == keyring.gpg_home
    finally:
        keyring.close()
        shutil.rmtree(base, ignore_errors=True)


def test_home_is_created_private(keyring: Keyring) -> None:
    assert keyring.home.is_dir() and (keyring.home.stat().st_mode & 0o777) == 0o700
    assert keyring.gpg_home == keyring.home
    not_a_dir = keyring.home / "pubring-file"
    not_a_dir.write_text("")
    with pytest.raises(SpackCacheError, match=f"^cannot create the GnuPG home {not_a_dir}/h: "):
        Keyring(not_a_dir / "h")


def test_a_stuck_gpg_is_stopped_and_reported(
    v2_keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holding the keyring lock makes gpg wait forever; we give up instead."""
    monkeypatch.setattr(TimedGPG, "timeout", 1.0)
    lock = v2_keyring.home / "pubring.kbx.lock"
    lock.write_text(f"{os.getpid():10d}\n{os.uname().nodename}\n")
    try:
        with pytest.raises(SpackCacheError, match=r"^gpg did not finish within 1 seconds"):
            v2_keyring.import_keys(v2_keyring.export_public(V2_KEY))
    finally:
        lock.unlink()
    # verification takes no lock and still works
    assert v2_keyring.verify_clearsigned(v2_signed_file()).fingerprint == V2_KEY


# ---- status lines gpg rarely produces (pure, no gpg run) ----------------------------------------


def test_rare_gpg_verdicts_map_to_one_line_errors() -> None:
    def verdict(*lines: str) -> str:
        stderr = "".join(f"[GNUPG:] {line}\n" for line in lines) + "gpg: some complaint\n"
        with pytest.raises(SignatureError) as caught:
            signer_from_status(parse_status(stderr), 1, stderr)
        assert "\n" not in str(caught.value)
        return str(caught.value)

    assert verdict("NEWSIG", "EXPSIG FA61D50C12CAD37E Spack <spack@spack.spack>") == (
        "the signature by key FA61D50C12CAD37E has expired"
    )
    assert verdict("NEWSIG", "ERRSIG FA61D50C12CAD37E 1 10 01 1747420834 4 -") == (
        "cannot check the signature by key FA61D50C12CAD37E: some complaint"
    )
    assert verdict("NODATA 1") == "gpg found no usable signature: some complaint"


def test_iso_signature_times_are_read() -> None:
    stderr = (
        "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG FA61D50C12CAD37E Spack\n"
        f"[GNUPG:] VALIDSIG {V2_KEY} 2025-05-16 20250516T184034 0 4 0 1 10 01 {V2_KEY}\n"
    )
    signer = signer_from_status(parse_status(stderr), 0, stderr)
    assert (signer.fingerprint, signer.signed_at) == (V2_KEY, 1747420834)


def test_non_utf8_bytes_are_refused(v2_keyring: Keyring) -> None:
    with pytest.raises(SignatureError, match=r"^the signed file is not UTF-8 text$"):
        v2_keyring.verify_clearsigned(v2_signed_file().encode() + b"\xff")
