"""The ``spackcache`` CLI as a user runs it: real mirrors, real keys, real servers.

Each test gets its own ``$SPACKCACHE_HOME`` and poses as the fixtures' host (platform ``test``,
OS ``debian6``, target ``m1``) where it needs to install-check them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.mirrors.test_mirror_readers import UPSTREAM, V3, V3_KEY

V2U = UPSTREAM / "v2_layout" / "unsigned"
V3S = V3 / "signed"

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = Path(os.path.join("/tmp", f"sc{os.getpid()}-{tmp_path.name[-12:]}"))
    home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("SPACKCACHE_HOME", str(home))
    monkeypatch.setenv("SPACKCACHE_SITE_CONFIG", str(tmp_path / "site.yaml"))
    monkeypatch.setenv("SPACKCACHE_PLATFORM", "test")
    monkeypatch.setenv("SPACKCACHE_OS", "debian6")
    monkeypatch.setenv("SPACKCACHE_TARGET", "m1")
    monkeypatch.setenv("SPACKCACHE_LIBC", "none")
    yield home
    import shutil

    shutil.rmtree(home, ignore_errors=True)


def _state(home: Path) -> dict[str, bytes]:
    """Every file under the state dir (config, cache, keyring), to prove errors change nothing."""
    out = {}
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_socket() and "S.gpg-agent" not in path.name:
            if path.suffix in {".lock"} or path.name.endswith("~"):
                continue
            out[str(path.relative_to(home))] = path.read_bytes()
    return out


def test_mirror_add_list_remove(run: Run, home: Path) -> None:
    code, out, _ = run("mirror", "add", "fixtures", str(V2U), "--unsigned")
    assert code == 0 and "added unsigned mirror 'fixtures'" in out
    code, out, _ = run("mirror", "list", "--json")
    assert json.loads(out) == [
        {
            "name": "fixtures",
            "url": V2U.as_uri(),
            "signed": False,
            "origin": "user",
            "pinned_keys": [],
            "credentials": False,
            "layout": None,
            "nodes": None,
        }
    ]
    code, out, _ = run("list", "--json")
    assert code == 0
    names = sorted((i["name"], i["hash"][:7]) for i in json.loads(out))
    assert names == [("gcc-runtime", "izgzpze"), ("libdwarf", "u5uz3dc"), ("libelf", "jr3yipy")]
    code, out, _ = run("mirror", "list")
    assert "v2" in out and "7" in out  # layout and node count known once indexed
    code, out, _ = run("mirror", "remove", "fixtures")
    assert code == 0
    assert json.loads(run("mirror", "list", "--json")[1]) == []


def test_list_all_targets_and_info(run: Run) -> None:
    run("mirror", "add", "fixtures", str(V2U), "--unsigned")
    code, out, _ = run("list", "--all-targets", "libdwarf")
    assert code == 0
    assert "need target core2 (this host: m1)" in out and "ok" in out
    code, out, _ = run("info", "libdwarf")
    assert code == 0
    assert out.splitlines()[0] == "libdwarf@20130729/u5uz3dc  from mirror 'fixtures'"
    assert "libelf" in out and "gcc-runtime" in out and "3 to download" in out
    code, out, _ = run("info", "--json", "libdwarf ^libelf@0.8")
    doc = json.loads(out)[0]
    assert doc["chosen"]["root"]["hash"].startswith("u5uz3dc")
    assert [n["name"] for n in doc["chosen"]["nodes"]] == ["gcc-runtime", "libelf", "libdwarf"]


def test_info_names_what_exists_when_nothing_fits(run: Run) -> None:
    run("mirror", "add", "fixtures", str(V2U), "--unsigned")
    code, out, err = run("info", "libdwarf@2014")
    assert code == 1
    assert "2 builds of libdwarf: 2 do not match (version 20130729 is not @2014)" in out
    assert "available versions: 20130729" in err
    code, out, err = run("info", "libdwarg")
    assert code == 1 and "did you mean: libdwarf?" in out
    # as with spack, a quoted key=value word keeps its value whole: one flag list, not ~g
    code, out, err = run("info", "libdwarf", "cflags=-O2 -g")
    assert code == 1 and "(cflags lacks -O2 -g)" in out


def test_keys_trust_shows_fingerprints_then_verifies(run: Run, home: Path) -> None:
    run("mirror", "add", "signed", str(V3S))
    code, out, _ = run("keys", "list", "--mirror", "signed", "--json")
    offered = json.loads(out)
    assert [(k["fingerprint"], k["trusted"]) for k in offered] == [(V3_KEY, False)]
    assert "fixture@example.invalid" in offered[0]["uids"][0]

    before = _state(home)
    code, out, err = run("keys", "trust", "--mirror", "signed")  # no tty, no --yes
    assert code == 1 and V3_KEY in out and "refusing to trust" in err
    assert _state(home) == before

    code, out, _ = run("keys", "trust", "--mirror", "signed", V3_KEY)
    assert code == 0 and f"trusted {V3_KEY}" in out
    code, out, _ = run("keys", "list", "--json")
    assert [k["fingerprint"] for k in json.loads(out)] == [V3_KEY]
    code, out, _ = run("keys", "untrust", V3_KEY)
    assert code == 0 and json.loads(run("keys", "list", "--json")[1]) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("info", "libdwarf@@1"), "column 9"),
        (("info", "zlib; rm -rf /"), "column"),
        (("mirror", "remove", "nope"), "unknown mirror 'nope'"),
        (("keys", "trust", "--mirror", "nope"), "unknown mirror 'nope'"),
        (("mirror", "add", "bad name", str(V2U)), "invalid mirror name"),
        (("mirror", "add", "fixtures", str(V3S)), "already exists"),
        (("mirror", "add", "x", "ftp://host/m"), "unsupported mirror URL scheme"),
        (("mirror", "add", "old", str(UPSTREAM / "legacy_yaml")), "too old"),
        (("mirror", "add", "old2", str(UPSTREAM / "legacy_layout")), "too old"),
        (("mirror", "add", "nothing", "/nonexistent/dir"), "no Spack build cache"),
        (("mirror", "add", "down", "http://127.0.0.1:9/m"), "connection refused"),
        (("keys", "untrust", "0" * 40), "0000000000000000"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    run: Run, home: Path, argv: tuple[str, ...], message: str
) -> None:
    run("mirror", "add", "fixtures", str(V2U), "--unsigned")
    run("list")
    run("keys", "list")  # the keyring exists already, as for any user who trusted a key
    before = _state(home)
    code, out, err = run(*argv)
    assert code == 1, (out, err)
    first = err.splitlines()[0]
    assert first.startswith("error: ") and message in err, err
    assert "Traceback" not in err
    assert _state(home) == before


def test_unreachable_mirror_is_reported_and_others_still_listed(
    run: Run, http_mirror: Callable[[Path], object]
) -> None:
    server = http_mirror(V3 / "unsigned")
    run("mirror", "add", "good", str(V2U), "--unsigned")
    run("mirror", "add", "flaky", server.url, "--unsigned")  # type: ignore[attr-defined]
    assert run("list")[0] == 0
    server.fault("v3/*", status=500)  # type: ignore[attr-defined]
    code, out, err = run("list")
    assert code == 0 and "libdwarf" in out
    assert "warning: mirror 'flaky' using the cached index" in err and "500" in err


def test_site_policy(run: Run, home: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.yaml"
    site.write_text(
        "mirrors:\n"
        f"  - {{name: site-cache, url: {V3S}, fingerprints: [{V3_KEY}]}}\n"
        "policy: {allow_user_mirrors: false, allow_unsigned: false}\n"
    )
    code, out, _ = run("mirror", "list", "--json")
    assert json.loads(out)[0]["origin"] == "site"
    assert json.loads(out)[0]["pinned_keys"] == [V3_KEY]
    assert json.loads(run("keys", "list", "--json")[1]) == []
    code, _, err = run("info", "libdwarf")  # first use of the mirror: its pinned key is trusted
    assert code == 0, err
    assert [k["fingerprint"] for k in json.loads(run("keys", "list", "--json")[1])] == [V3_KEY]
    code, _, err = run("mirror", "add", "mine", str(V2U), "--unsigned")
    assert code == 1 and "does not allow user-defined mirrors" in err
    code, _, err = run("mirror", "remove", "site-cache")
    assert code == 1 and "defined by the site" in err
    code, _, err = run("keys", "trust", "--mirror", "site-cache", "F" * 40)
    assert code == 1 and "not among the fingerprints pinned" in err
    code, out, _ = run("keys", "trust", "--mirror", "site-cache", "--yes")
    assert code == 0 and V3_KEY in out


def test_a_pinned_site_key_shows_as_trusted_the_first_time_it_is_listed(
    run: Run, tmp_path: Path
) -> None:
    """Opening the site mirror trusts its pinned key: the listing must not say "no" first."""
    (tmp_path / "site.yaml").write_text(
        f"mirrors:\n  - {{name: site-cache, url: {V3S}, fingerprints: [{V3_KEY}]}}\n"
    )
    code, out, err = run("keys", "list", "--mirror", "site-cache", "--json")
    assert code == 0, err
    assert [(k["fingerprint"], k["trusted"]) for k in json.loads(out)] == [(V3_KEY, True)]


def test_the_panel_preview_also_shows_a_pinned_site_key_as_trusted(
    home: Path, tmp_path: Path
) -> None:
    """The REST helper behind ``GET /mirrors/{name}/keys`` (the panel's trust dialog)."""
    from jupyter_spackcache.server.handlers.mirrors import preview_keys
    from jupyter_spackcache.session import Session

    (tmp_path / "site.yaml").write_text(
        f"mirrors:\n  - {{name: site-cache, url: {V3S}, fingerprints: [{V3_KEY}]}}\n"
    )
    with Session() as session:
        offered = preview_keys(session, "site-cache")
    assert [(k["fingerprint"], k["trusted"]) for k in offered] == [(V3_KEY, True)]


def test_console_script_entry_point(home: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jupyter_spackcache.cli", "host", "--json"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["target"] == "m1" and doc["family"] == "aarch64"
    assert doc["install_root"] == str(home / "opt")


def test_s3_mirror_through_the_cli(run: Run, s3_server: object) -> None:
    url = s3_server.upload_tree(V3 / "unsigned", "clibucket", "cache")  # type: ignore[attr-defined]
    assert url.startswith("s3://")
    endpoint = s3_server.endpoint  # type: ignore[attr-defined]
    code, out, err = run("mirror", "add", "s3", url, "--unsigned", "--s3-endpoint", endpoint)
    assert code == 0, err
    code, out, _ = run("list", "--json")
    assert sorted(i["name"] for i in json.loads(out)) == ["gcc-runtime", "libdwarf", "libelf"]


def test_oci_mirror_through_the_cli(run: Run, oci_registry: object) -> None:
    from tests.support.ocicache import push_spack_oci_cache, v2_entries

    url = oci_registry.repo_url("cli-cache")  # type: ignore[attr-defined]
    push_spack_oci_cache(url, v2_entries())
    code, _, err = run("mirror", "add", "oci", url)
    assert code == 1 and "never signed" in err and "--unsigned" in err
    code, _, err = run("mirror", "add", "oci", url, "--unsigned")
    assert code == 0, err
    code, out, _ = run("list", "--json")
    assert sorted(i["name"] for i in json.loads(out)) == ["gcc-runtime", "libdwarf", "libelf"]
    code, out, _ = run("info", "--json", "libdwarf")
    chosen = json.loads(out)[0]["chosen"]
    assert code == 0 and chosen["root"]["hash"].startswith("u5uz3dc")
    assert all(n["size"] for n in chosen["nodes"])  # sizes from the image layers


def test_a_lone_word_searches_names_like_spack_list(run: Run) -> None:
    run("mirror", "add", "fixtures", str(V2U), "--unsigned")
    code, out, _ = run("list", "--json", "lib")
    assert code == 0
    assert sorted({i["name"] for i in json.loads(out)}) == ["libdwarf", "libelf"]
    code, out, _ = run("list", "--json", "libelf@0.8")  # a constraint means an exact name
    assert {i["name"] for i in json.loads(out)} == {"libelf"}
    code, out, _ = run("list", "--json", "li_")  # LIKE wildcards are taken literally
    assert json.loads(out) == []


def test_site_policy_also_silences_mirrors_added_before_it(run: Run, tmp_path: Path) -> None:
    run("mirror", "add", "old", str(V2U), "--unsigned")  # allowed when it was added
    (tmp_path / "site.yaml").write_text("policy: {allow_unsigned: false}\n")
    code, out, _ = run("mirror", "list", "--json")
    assert code == 0 and json.loads(out) == []
    (tmp_path / "site.yaml").write_text("policy: {allow_file_mirrors: false}\n")
    assert json.loads(run("mirror", "list", "--json")[1]) == []
    (tmp_path / "site.yaml").write_text("policy: {}\n")
    assert [m["name"] for m in json.loads(run("mirror", "list", "--json")[1])] == ["old"]
