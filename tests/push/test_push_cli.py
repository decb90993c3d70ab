"""``spackcache push`` and ``keys create|import``: installed prefixes back into a v3 mirror.

The source store is the gcc-built demo stack registered in a real StoreDB (or, end to end,
installed by the real pipeline); keys are real GnuPG keys; the pushed mirror is checked file
by file against what Spack reads (format doc §1.2, §4, §9.3) and then installed elsewhere.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_spackcache.cli import main
from jupyter_spackcache.config import load_config
from jupyter_spackcache.demo.build import (
    BuiltPackage,
    build_demo_mirror,
    build_demo_stack,
    create_demo_key,
    load_recipes,
)
from jupyter_spackcache.errors import SignatureError
from jupyter_spackcache.formats.clearsign import strip_clearsign
from jupyter_spackcache.formats.specfile import decode_specfile, make_node, make_specfile
from jupyter_spackcache.formats.v3layout import (
    INDEX_MEDIA_TYPE,
    KEY_INDEX_MEDIA_TYPE,
    KEY_MEDIA_TYPE,
    SPEC_MEDIA_TYPE,
    TARBALL_MEDIA_TYPE,
)
from jupyter_spackcache.push.from_store import local_destination
from jupyter_spackcache.push.selection import (
    PushError,
    choose_installed,
    choose_signing_key,
    relocation_hashes,
    with_dags,
)
from jupyter_spackcache.spec.parser import parse_spec
from jupyter_spackcache.store import InstalledRecord, StoreDB, default_db_path
from jupyter_spackcache.store.recipes import description_at
from jupyter_spackcache.trust import KeyInfo, Keyring

Run = Callable[..., tuple[int, str, str]]
SIGNED = "-----BEGIN PGP SIGNED MESSAGE-----"
TOOL_CLOSURE = {"demo-tool", "libdemo-mid", "libdemo-base"}
DESCRIBED = {r.name: r.description for r in load_recipes()}


def _short_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


# -- fixtures: a built stack, homes, real keys -------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[list[BuiltPackage]]:
    """The demo stack compiled into a padded store, as if installed there (read-only here)."""
    work = _short_dir("w")
    try:
        yield build_demo_stack(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def keyfiles() -> Iterator[dict[str, Any]]:
    """One real RSA key made by plain gpg: its armored secret and public parts."""
    gnupg = _short_dir("g")
    params = (
        "%no-protection\nKey-Type: RSA\nKey-Length: 2048\nKey-Usage: sign\n"
        "Name-Real: Push Tester\nName-Email: push@example.invalid\nExpire-Date: 0\n%commit\n"
    )
    gpg = ["gpg", "--homedir", str(gnupg), "--batch", "--quiet"]
    try:
        subprocess.run([*gpg, "--gen-key"], input=params, text=True, check=True)
        listing = subprocess.run(
            [*gpg, "--with-colons", "--list-secret-keys"], capture_output=True, text=True
        ).stdout
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        secret = gnupg / "secret.asc"
        public = gnupg / "public.asc"
        for path, flag in ((secret, "--export-secret-keys"), (public, "--export")):
            out = subprocess.run([*gpg, "--armor", flag, fpr], capture_output=True, check=True)
            path.write_bytes(out.stdout)
        yield {"fingerprint": fpr, "secret": secret, "public": public}
    finally:
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"], check=False)
        shutil.rmtree(gnupg, ignore_errors=True)


def _enter_home(
    monkeypatch: pytest.MonkeyPatch, home: Path, install_root: Path | str | None
) -> None:
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(home / "no-site.yaml"))
    if install_root is None:
        monkeypatch.delenv("SPACKCACHE_INSTALL_ROOT", raising=False)
    else:
        monkeypatch.setenv("SPACKCACHE_INSTALL_ROOT", str(install_root))


def _register(home: Path, packages: list[BuiltPackage]) -> None:
    """Record built prefixes in the home's install database, as an install would."""
    db = StoreDB(home / "store.sqlite")
    try:
        for pkg in packages:
            spec = json.loads((pkg.prefix / ".spack" / "spec.json").read_text())
            db.add(
                InstalledRecord.create(
                    spec, prefix=pkg.prefix, root=pkg.store_root, mirror=None, explicit=True
                )
            )
    finally:
        db.close()


@pytest.fixture
def home(stack: list[BuiltPackage], monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SPACKCACHE_HOME whose store holds the demo stack, with an empty keyring."""
    home = _short_dir("h")
    _enter_home(monkeypatch, home, stack[0].store_root)
    _register(home, stack)
    yield home
    Keyring(home / "gnupg").close()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def dest() -> Iterator[Path]:
    parent = _short_dir("m")
    yield parent / "mirror"
    shutil.rmtree(parent, ignore_errors=True)


def _create_key(run: Run) -> str:
    code, out, err = run("keys", "create", "Push Test", "push@example.invalid", "--length", "2048")
    assert code == 0, err
    return out.split()[2]


# -- reading the pushed mirror like Spack does ---------------------------------------------------


def _manifest(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(strip_clearsign(path.read_text()))
    return doc


def _blob(mirror: Path, manifest: dict[str, Any], media_type: str) -> bytes:
    (record,) = [r for r in manifest["data"] if r["mediaType"] == media_type]
    checksum = record["checksum"]
    data: bytes = (mirror / "blobs" / "sha256" / checksum[:2] / checksum).read_bytes()
    assert record["checksumAlgorithm"] == "sha256"
    assert hashlib.sha256(data).hexdigest() == checksum and len(data) == record["contentLength"]
    return data


def _spec_manifests(mirror: Path) -> dict[str, Path]:
    return {p.parent.name: p for p in (mirror / "v3/manifests/spec").glob("*/*.spec.manifest.json")}


def _snapshot(root: Path) -> dict[str, bytes] | None:
    if not root.exists():
        return None
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _buildinfo(tarball: bytes) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        (member,) = [m for m in tar.getmembers() if m.name.endswith(".spack/binary_distribution")]
        handle = tar.extractfile(member)
        assert handle is not None
        info: dict[str, Any] = yaml.safe_load(handle.read())
        return info


# -- pushing ----------------------------------------------------------------------------------


def test_signed_push_writes_a_mirror_spack_accepts(
    run: Run, home: Path, dest: Path, stack: list[BuiltPackage]
) -> None:
    fpr = _create_key(run)
    code, out, err = run("push", "--mirror", dest.as_uri(), "demo-tool")
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[1].split("@")[0] for line in lines[:-1]] == [
        "libdemo-base", "libdemo-mid", "demo-tool",
    ]  # fmt: skip
    assert "pushed 3 packages" in lines[-1] and f"signed with {fpr}" in lines[-1]

    assert json.loads((dest / "v3/layout.json").read_text()) == {"signing": "gpg"}
    manifests = _spec_manifests(dest)
    assert set(manifests) == TOOL_CLOSURE
    by_name = {p.name: p for p in stack}
    verifier = Keyring(_short_dir("g"))
    try:
        key_manifest = _manifest(dest / f"v3/manifests/key/{fpr}.key.manifest.json")
        armored = _blob(dest, key_manifest, KEY_MEDIA_TYPE).decode()
        assert [k.fingerprint for k in verifier.import_keys(armored)] == [fpr]
        keys_index = _manifest(dest / "v3/manifests/key/keys.manifest.json")
        assert json.loads(_blob(dest, keys_index, KEY_INDEX_MEDIA_TYPE)) == {"keys": {fpr: {}}}
        for name, path in manifests.items():
            pkg = by_name[name]
            assert path.name == f"{name}-{pkg.version}-{pkg.hash}.spec.manifest.json"
            text = path.read_text()
            assert text.startswith(SIGNED) and "Hash: SHA512" in text
            verified = verifier.verify_clearsigned(text)  # the signature covers the manifest
            assert verified.fingerprint == fpr
            manifest = json.loads(verified.payload)
            assert manifest["version"] == 3
            kinds = {(r["mediaType"], r["compression"]) for r in manifest["data"]}
            assert kinds == {(TARBALL_MEDIA_TYPE, "gzip"), (SPEC_MEDIA_TYPE, "gzip")}
            specfile = json.loads(gzip.decompress(_blob(dest, manifest, SPEC_MEDIA_TYPE)))
            assert specfile["buildcache_layout_version"] == 2
            assert "binary_cache_checksum" not in specfile
            assert specfile["spec"] == pkg.specfile["spec"]  # the prefix's .spack/spec.json
            info = _buildinfo(_blob(dest, manifest, TARBALL_MEDIA_TYPE))
            assert info["buildpath"] == pkg.store_root
            assert info["relative_prefix"] == os.path.relpath(pkg.prefix, pkg.store_root)
            assert info["sbang_install_path"] == f"{pkg.store_root}/bin/sbang"
            assert info["hash_to_prefix"] == pkg.hash_to_prefix
            assert info["relocate_binaries"]  # every ELF file is listed
    finally:
        verifier.close()
        shutil.rmtree(verifier.home, ignore_errors=True)

    index = _manifest(dest / "v3/manifests/index/index.manifest.json")
    installs = json.loads(_blob(dest, index, INDEX_MEDIA_TYPE))["database"]["installs"]
    in_cache = {r["spec"]["name"] for r in installs.values() if r["in_buildcache"]}
    others = {r["spec"]["name"] for r in installs.values() if not r["in_buildcache"]}
    assert in_cache == TOOL_CLOSURE and others == {"gcc", "glibc"}  # every node of every DAG


def test_push_adds_only_what_is_missing_and_force_rewrites(
    run: Run, home: Path, dest: Path
) -> None:
    code, out, err = run("push", "--mirror", str(dest), "--unsigned", "demo-tool")
    assert code == 0 and "pushed 3 packages" in out and "unsigned" in out, err
    before = {name: p.read_bytes() for name, p in _spec_manifests(dest).items()}
    assert all(text.startswith(b"{") for text in before.values())
    code, out, err = run("push", "--mirror", str(dest), "--unsigned", "--json", "demo-scripts")
    assert code == 0, err
    actions = {n["name"]: n["action"] for n in json.loads(out)["nodes"]}
    assert actions == {
        "libdemo-base": "skipped", "libdemo-mid": "skipped",
        "demo-tool": "skipped", "demo-scripts": "pushed",
    }  # fmt: skip
    assert {n: _spec_manifests(dest)[n].read_bytes() for n in before} == before
    index = _manifest(dest / "v3/manifests/index/index.manifest.json")
    installs = json.loads(_blob(dest, index, INDEX_MEDIA_TYPE))["database"]["installs"]
    assert sum(r["in_buildcache"] for r in installs.values()) == 4
    code, out, _ = run("push", "--mirror", str(dest), "--unsigned", "--force", "demo-scripts")
    assert code == 0 and "pushed 4 packages" in out


def test_keys_import_public_trusts_secret_signs(
    run: Run, home: Path, dest: Path, keyfiles: dict[str, Any]
) -> None:
    fpr = keyfiles["fingerprint"]
    code, out, err = run("keys", "import", str(keyfiles["public"]))
    assert code == 0 and out.strip().startswith(f"imported public key (trusted) {fpr}"), err
    code, _, err = run("push", "--mirror", str(dest), "demo-tool")
    assert code == 1 and err.splitlines()[0] == "error: no secret key in the keyring to sign with"
    assert "spackcache keys create" in err and "spackcache keys import" in err
    assert not dest.exists()

    code, out, err = run("keys", "import", "--json", str(keyfiles["secret"]))
    assert code == 0, err
    assert [(k["fingerprint"], k["secret"]) for k in json.loads(out)] == [(fpr, True)]
    code, out, err = run("push", "--mirror", str(dest), "libdemo-base")
    assert code == 0 and f"signed with {fpr}" in out, err
    (manifest,) = _spec_manifests(dest).values()
    assert manifest.read_text().startswith(SIGNED)


def test_two_secret_keys_need_an_explicit_choice(
    run: Run, home: Path, dest: Path, keyfiles: dict[str, Any]
) -> None:
    run("keys", "import", str(keyfiles["secret"]))
    own = _create_key(run)
    code, _, err = run("push", "--mirror", str(dest), "demo-tool")
    assert code == 1 and err.startswith("error: 2 secret keys could sign (")
    assert "--key FINGERPRINT" in err and not dest.exists()
    code, out, err = run("push", "--mirror", str(dest), "--key", own.lower(), "libdemo-base")
    assert code == 0 and f"signed with {own}" in out, err
    assert (dest / f"v3/manifests/key/{own}.key.manifest.json").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["no-such-package"], "error: no installed package matches 'no-such-package'"),
        (["demo-tool@9"], "error: no installed package matches 'demo-tool@9'"),
        (["--unsigned", "demo-tool@@"], "error: "),
        (["--key", "0" * 40, "demo-tool"], f"error: no secret key {'0' * 40} in the keyring"),
        (["--key", "DEADBEEF", "demo-tool"], "error: not a key fingerprint: 'DEADBEEF'"),
        (
            ["--mirror-url", "http://127.0.0.1:9/m", "demo-tool"],
            "error: cannot push to 'http://127.0.0.1:9/m': only local directories are supported",
        ),
        (
            ["--mirror-url", "s3://bucket/m", "--unsigned", "demo-tool"],
            "error: cannot push to 's3://bucket/m': only local directories are supported",
        ),
        (
            ["--mirror-url", "oci://ghcr.io/x/y", "demo-tool"],
            "error: cannot push to 'oci://ghcr.io/x/y': only local directories are supported",
        ),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_mirror_alone(
    run: Run, home: Path, dest: Path, argv: list[str], message: str
) -> None:
    code, _, err = run("push", "--mirror", str(dest), "--unsigned", "libdemo-base")
    assert code == 0, err
    if argv[0] != "--unsigned":
        _create_key(run)  # a usable key exists: the failure must come from the input
    before = _snapshot(dest)
    if argv[0] == "--mirror-url":
        args = ["push", "--mirror", argv[1], *argv[2:]]
    else:
        args = ["push", "--mirror", str(dest), *argv]
    code, out, err = run(*args)
    assert code == 1 and out == ""
    first, *rest = err.splitlines()
    assert first.startswith(message) and all(line.startswith("  ") for line in rest)
    assert _snapshot(dest) == before


def test_destination_that_is_a_file_is_refused(run: Run, home: Path, dest: Path) -> None:
    dest.parent.mkdir(exist_ok=True)
    dest.write_text("not a mirror")
    code, _, err = run("push", "--mirror", str(dest), "--unsigned", "demo-tool")
    assert code == 1 and err.splitlines()[0].endswith("it is a file, not a directory")
    assert dest.read_text() == "not a mirror"


def test_missing_dependency_or_prefix_is_refused(
    run: Run, home: Path, dest: Path, stack: list[BuiltPackage]
) -> None:
    mid = next(p for p in stack if p.name == "libdemo-mid")
    db = StoreDB(default_db_path(load_config()))
    db.remove(mid.hash)
    db.close()
    code, _, err = run("push", "--mirror", str(dest), "--unsigned", "demo-tool")
    assert code == 1 and not dest.exists()
    assert err.splitlines()[0] == (
        f"error: libdemo-mid@2.0.1/{mid.hash[:7]}, needed at run time by "
        f"demo-tool@1.0.0/{stack[2].hash[:7]}, is not installed"
    )


@pytest.fixture
def tiny_disk() -> Iterator[Path]:
    """A 24 KiB tmpfs: room for a package or two, not for the whole push (needs root)."""
    point = _short_dir("t")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(point)], capture_output=True
    )
    if done.returncode != 0:
        shutil.rmtree(point)
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield point
    subprocess.run(["umount", str(point)], check=True)
    shutil.rmtree(point)


def test_full_disk_is_one_line_and_leaves_a_valid_mirror(
    run: Run, home: Path, tiny_disk: Path
) -> None:
    code, out, err = run("push", "--mirror", str(tiny_disk), "--unsigned", "demo-scripts")
    assert "pushing libdemo-base" in out
    assert code == 1
    assert err.splitlines()[0].startswith(f"error: cannot write to {tiny_disk}: No space left")
    visible = _spec_manifests(tiny_disk)
    assert visible and len(visible) < 4
    for manifest in visible.values():  # what is visible is complete
        doc = _manifest(manifest)
        _blob(tiny_disk, doc, TARBALL_MEDIA_TYPE)
        _blob(tiny_disk, doc, SPEC_MEDIA_TYPE)
    assert not [p for p in tiny_disk.rglob(".*") if p.is_file()]  # no temporary leftovers


def test_mirror_names_stand_for_their_urls(run: Run, home: Path, dest: Path) -> None:
    assert run("mirror", "add", "out", str(dest), "--no-check", "--unsigned")[0] == 0
    assert run("mirror", "add", "far", "https://127.0.0.1:9/m", "--no-check")[0] == 0
    code, out, err = run("push", "--mirror", "out", "--unsigned", "libdemo-base")
    assert code == 0 and f"to {dest};" in out, err
    code, _, err = run("push", "--mirror", "far", "--unsigned", "libdemo-base")
    assert code == 1 and "only local directories are supported" in err.splitlines()[0]


def test_keys_create_and_import_refuse_bad_input(run: Run, home: Path, tmp_path: Path) -> None:
    code, _, err = run("keys", "create", "Bad\nName", "x@example.org")
    assert code == 1 and err.startswith("error: unusable key name")
    code, _, err = run("keys", "create", "Name", "not-an-address")
    assert code == 1 and err.startswith("error: unusable e-mail address 'not-an-address'")
    code, _, err = run("keys", "import", str(tmp_path / "missing.asc"))
    assert code == 1 and err.startswith("error: cannot read key file ")
    (tmp_path / "junk.asc").write_text("hello\n")
    code, _, err = run("keys", "import", str(tmp_path / "junk.asc"))
    assert code == 1 and err.startswith("error: no OpenPGP key found in the key data")
    code, out, _ = run("keys", "list", "--json")
    assert json.loads(out) == []


# -- end to end: install, push, install the pushed mirror elsewhere ------------------------------


def _tree_mentions(root: Path, needle: bytes) -> list[str]:
    """Files under ``root`` (package metadata in ``.spack/`` aside) that contain ``needle``."""
    return [
        str(p)
        for p in root.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and ".spack" not in p.parts
        and needle in p.read_bytes()
    ]


def _unslashed(text: str) -> str:
    """Relocated binaries pad shorter prefixes with leading slashes (``///tmp/...``)."""
    return "/" + text.lstrip("/")


def test_installed_packages_pushed_and_installed_elsewhere_still_run(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch, first, second = _short_dir("s"), _short_dir("a"), _short_dir("b")
    demo_gnupg = _short_dir("g")
    try:
        with Keyring(demo_gnupg) as keyring:
            key = create_demo_key(keyring, key_length=2048)
            build_demo_mirror(scratch / "demo", keyring=keyring, signing_key=key)
        first_root = first / "opt"
        _enter_home(monkeypatch, first, None)
        assert run("mirror", "add", "demo", str(scratch / "demo"))[0] == 0
        assert run("keys", "trust", "--mirror", "demo", "--yes")[0] == 0
        code, _, err = run("install", "demo-scripts", "--yes")
        assert code == 0, err
        fpr = _create_key(run)
        code, out, err = run("push", "--mirror", str(scratch / "pushed"), "demo-scripts")
        assert code == 0 and "pushed 4 packages" in out and f"signed with {fpr}" in out, err
        manifest = _manifest(_spec_manifests(scratch / "pushed")["demo-tool"])
        info = _buildinfo(_blob(scratch / "pushed", manifest, TARBALL_MEDIA_TYPE))
        assert info["buildpath"] == str(first_root)
        assert info["sbang_install_path"] == f"{first_root}/bin/sbang"
        Keyring(first / "gnupg").close()

        second_root = second / "sw"  # a different (and not longer) install root
        _enter_home(monkeypatch, second, second_root)
        assert run("mirror", "add", "pushed", (scratch / "pushed").as_uri())[0] == 0
        code, out, err = run("keys", "trust", "--mirror", "pushed", "--yes")
        assert code == 0 and fpr in out, err
        code, _, err = run("install", "demo-scripts", "--yes")
        assert code == 0, err
        code, out, _ = run("find", "--json")
        prefixes = {r["name"]: Path(r["prefix"]) for r in json.loads(out)}
        assert set(prefixes) == TOOL_CLOSURE | {"demo-scripts"}
        assert all(p.is_relative_to(second_root) for p in prefixes.values())

        shutil.rmtree(first_root)  # the copies must not need the store they were pushed from
        tool = subprocess.run(
            [str(prefixes["demo-tool"] / "bin" / "demo-tool"), "5"], capture_output=True, text=True
        )
        assert tool.returncode == 0, tool.stderr
        printed = dict(line.split(": ", 1) for line in tool.stdout.splitlines())
        assert _unslashed(printed["demo-tool prefix"]) == str(prefixes["demo-tool"])
        assert _unslashed(printed["libdemo-mid prefix"]) == str(prefixes["libdemo-mid"])
        assert printed["value"] == "41"  # through both relocated libraries
        hello = subprocess.run(
            [str(prefixes["demo-scripts"] / "bin" / "demo-hello")], capture_output=True, text=True
        )
        assert hello.returncode == 0, hello.stderr
        assert hello.stdout.splitlines()[0] == f"demo-scripts prefix: {prefixes['demo-scripts']}"
        assert hello.stdout.splitlines()[-1] == "value: 71"
        assert _tree_mentions(second_root, str(first_root).encode()) == []
        # push keeps the recipe snapshots, as Spack does: the copies still say what they are
        for name, prefix in prefixes.items():
            assert description_at(prefix, name, "builtin") == DESCRIBED[name]
    finally:
        for home in (first, second):
            Keyring(home / "gnupg").close()
        Keyring(demo_gnupg).close()
        for path in (scratch, first, second, demo_gnupg):
            shutil.rmtree(path, ignore_errors=True)


# -- pure parts ---------------------------------------------------------------------------------


def test_local_destination_accepts_paths_and_file_urls_only(tmp_path: Path) -> None:
    assert local_destination(str(tmp_path / "m")) == tmp_path / "m"
    assert local_destination((tmp_path / "a b").as_uri()) == tmp_path / "a b"
    assert local_destination(f"file://localhost{tmp_path}/m") == tmp_path / "m"
    for url in ("https://example.org/m", "s3://b/m", "oci+http://h/r", "file://host/m", ""):
        with pytest.raises(PushError):
            local_destination(url)


def _key(fpr: str) -> KeyInfo:
    return KeyInfo(fpr, ("x",), None, None, "RSA", 2048, True)


def test_choose_signing_key() -> None:
    a, b = "A" * 40, "B" * 40
    assert choose_signing_key([_key(a)], requested=None, unsigned=False) == a
    assert choose_signing_key([_key(a), _key(b)], requested=b.lower(), unsigned=False) == b
    assert choose_signing_key([], requested=None, unsigned=True) is None
    with pytest.raises(SignatureError, match="2 secret keys could sign"):
        choose_signing_key([_key(a), _key(b)], requested=None, unsigned=False)
    with pytest.raises(SignatureError, match="no secret key in the keyring"):
        choose_signing_key([], requested=None, unsigned=False)
    with pytest.raises(SignatureError, match=f"no secret key {b}"):
        choose_signing_key([_key(a)], requested=b, unsigned=False)
    with pytest.raises(PushError, match="contradict"):
        choose_signing_key([_key(a)], requested=a, unsigned=True)


def test_ambiguous_specs_are_refused_not_guessed() -> None:
    specs = [
        make_specfile([make_node("zlib", v, platform="linux", os="d", target="x86_64")])
        for v in ("1.2", "1.3")
    ]
    records = [
        InstalledRecord.create(s, prefix=f"/p/{i}", root="/p", mirror=None, explicit=True)
        for i, s in enumerate(specs)
    ]
    installed = with_dags(records)
    with pytest.raises(PushError, match=r"'zlib' matches 2 installed packages: zlib@1.2/"):
        choose_installed([("zlib", parse_spec("zlib"))], installed)
    chosen = choose_installed(
        [("zlib@1.3", parse_spec("zlib@1.3")), ("zlib@1.3:", parse_spec("zlib@1.3:"))], installed
    )
    assert [item.record.hash for item in chosen] == [records[1].hash]


def test_relocation_hashes_follow_spacks_rule(stack: list[BuiltPackage]) -> None:
    for pkg in stack:  # root + transitive link deps + direct run deps, externals excluded
        dag = decode_specfile(pkg.specfile)
        assert relocation_hashes(dag, pkg.hash) == list(pkg.hash_to_prefix)
