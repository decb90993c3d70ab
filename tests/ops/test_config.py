"""Site and user configuration: layers that only tighten, every key validated (issue 12).

The system site files are a module-level seam (``config.SYSTEM_SITE_FILES``): tests point it at
temporary files instead of writing /etc/spackcache, which other test runs on the machine read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_spackcache import config as config_mod
from jupyter_spackcache.config import MirrorConfig, load_config, validate_new_mirror
from jupyter_spackcache.errors import ConfigError, PolicyError
from jupyter_spackcache.fingerprint import Fingerprint, FingerprintError
from jupyter_spackcache.policy import Policy
from jupyter_spackcache.server.site_policy import SpackCache, effective_config, user_config_mirrors

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"
OTHER = "89ABCDEF0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system site file, as the admin wrote it (empty until a test fills it)."""
    path = tmp_path / "etc" / "spackcache" / "config.yaml"
    path.parent.mkdir(parents=True)
    monkeypatch.setattr(config_mod, "SYSTEM_SITE_FILES", (tmp_path / "absent.yaml", path))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    return {"SPACKCACHE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}


def user_file(env: dict[str, str]) -> Path:
    return Path(env["SPACKCACHE_HOME"]) / "config.yaml"


STRICT = (
    "policy: {allow_user_mirrors: false, allow_unsigned: false}\n"
    "mirrors:\n"
    f"  - {{name: centre, url: 'https://cache.example.org/spack', fingerprints: [{FPR}]}}\n"
)


# ---- the system file always applies ---------------------------------------------------------


@pytest.mark.parametrize("extra", ["/dev/null", "", "missing"])
def test_the_system_file_applies_whatever_the_environment_says(
    system: Path, env: dict[str, str], tmp_path: Path, extra: str
) -> None:
    system.write_text(STRICT)
    user_file(env).write_text("mirrors: [{name: mine, url: 'https://u.example.org/x'}]\n")
    if extra:
        env["SPACKCACHE_SITE_CONFIG"] = extra if extra != "missing" else str(tmp_path / "no")
    config = load_config(env)
    assert [(m.name, m.origin) for m in config.mirrors] == [("centre", "site")]
    assert config.policy.allow_user_mirrors is False
    with pytest.raises(PolicyError, match="does not allow user-defined mirrors"):
        validate_new_mirror(config, MirrorConfig("x", "file:///tmp/x", unsigned=True))


def test_the_extra_layer_only_tightens(system: Path, env: dict[str, str], tmp_path: Path) -> None:
    system.write_text("policy: {allow_unsigned: false}\n")
    extra = tmp_path / "extra.yaml"
    extra.write_text(
        "policy: {allow_unsigned: true, allow_file_mirrors: false}\n"
        "mirrors:\n"
        "  - {name: sneaky, url: 'https://x.example.org/c', unsigned: true}\n"
        "  - {name: fine, url: 'https://y.example.org/c'}\n"
        f"pinned_keys: {{fine: [{FPR}]}}\n"
    )
    config = load_config({**env, "SPACKCACHE_SITE_CONFIG": str(extra)})
    assert config.policy.allow_unsigned is False  # not loosened
    assert config.policy.allow_file_mirrors is False  # tightened
    # an unsigned mirror the system policy forbids users is not made "site" by the extra layer
    assert [m.name for m in config.mirrors] == ["fine"]
    assert config.mirror("fine").fingerprints == (FPR,)
    assert config.site_files == (system, extra)
    # config check names the file that decided: the system file forbids, the extra layer's
    # "true" changed nothing
    assert config.sources["policy.allow_unsigned"] == f"site file {system}:1"
    assert config.sources["policy.allow_file_mirrors"] == f"site file {extra}:1"


def test_a_later_layer_can_only_narrow_pins(
    system: Path, env: dict[str, str], tmp_path: Path
) -> None:
    system.write_text(f"pinned_keys: {{centre: [{FPR}, {OTHER}]}}\n" + STRICT.split("\n", 1)[1])
    extra = tmp_path / "extra.yaml"
    extra.write_text(f"pinned_keys: {{centre: [{OTHER}]}}\n")
    config = load_config({**env, "SPACKCACHE_SITE_CONFIG": str(extra)})
    assert config.mirror("centre").fingerprints == (OTHER,)
    extra.write_text("pinned_keys: {centre: ['" + "A" * 40 + "']}\n")
    with pytest.raises(ConfigError, match="share none with an earlier site file"):
        load_config({**env, "SPACKCACHE_SITE_CONFIG": str(extra)})


def test_site_mirrors_win_over_user_mirrors_of_the_same_name(
    system: Path, env: dict[str, str]
) -> None:
    system.write_text(STRICT.replace("allow_user_mirrors: false, ", ""))
    user_file(env).write_text(
        "mirrors:\n"
        "  - {name: centre, url: 'https://evil.example.org/c'}\n"
        "  - {name: loose, url: 'https://u.example.org/c', unsigned: true}\n"
        "  - {name: ok, url: 'https://u.example.org/ok'}\n"
    )
    config = load_config(env)
    assert [(m.name, m.origin) for m in config.mirrors] == [("centre", "site"), ("ok", "user")]
    assert config.mirror("centre").url == "https://cache.example.org/spack"


# ---- validation: file, line, key, closest key -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            "mirrors:\n  - name: a\n    url: https://a.org\n    fingerprint: [X]\n",
            4,
            "unknown key 'fingerprint'",
            "did you mean 'fingerprints'?",
        ),
        (f"pinned_key: {{a: [{FPR}]}}\n", 1, "unknown key 'pinned_key'", "'pinned_keys'"),
        ("auto_kernels: true\ninstall_rot: /x\n", 2, "unknown key 'install_rot'", "'install_root'"),
        ("upstream: [/apps]\n", 1, "unknown key 'upstream'", "'upstreams'"),
        (
            "policy:\n  allow_unsigned: 'no'\n",
            2,
            "'policy.allow_unsigned' must be true or false",
            None,
        ),
        (
            "policy:\n  alow_unsigned: false\n",
            2,
            "unknown key 'policy.alow_unsigned'",
            "'allow_unsigned'",
        ),
        ("upstreams: /apps\n", 1, "'upstreams' must be a list of strings", None),
        (
            "mirrors:\n  - {name: a, url: 'https://a', fingerprints: [ABC]}\n",
            2,
            "not a key fingerprint: 'ABC'",
            None,
        ),
        ("policy: {denied_hosts: ['10.0.0.0/33']}\n", 1, "is not a network", None),
        ("policy: {allowed_schemes: [ftp]}\n", 1, "unknown scheme 'ftp'", None),
        ("mirrors:\n  - {url: 'https://a'}\n", 2, "a mirror needs a 'name'", None),
        ("mirrors: [\n", 2, "not valid YAML", None),
    ],
)
def test_every_mistake_names_file_line_and_key(
    system: Path, env: dict[str, str], text: str, line: int, message: str, hint: str | None
) -> None:
    system.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(env)
    assert str(err.value).startswith(f"{system}:{line}: ")
    assert message in str(err.value) and "\n" not in str(err.value)
    if hint:
        assert hint in (err.value.hint or "")


def test_policy_and_pins_belong_to_the_site_file(system: Path, env: dict[str, str]) -> None:
    user_file(env).write_text("auto_kernels: false\npolicy: {allow_unsigned: true}\n")
    with pytest.raises(ConfigError, match=r"config.yaml:2: 'policy' may only be set in the site"):
        load_config(env)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("$WORK/spack", "uses $WORK, which is not set"),
        ("${PROJECT}/sw", "uses $PROJECT, which is not set"),
        ("relroot", "is a relative path"),
        ("./opt", "is a relative path"),
    ],
)
def test_paths_must_be_absolute_after_expansion(
    system: Path, env: dict[str, str], value: str, message: str
) -> None:
    user_file(env).write_text(f"install_root: '{value}'\n")
    pattern = message.replace("$", ".")
    with pytest.raises(ConfigError, match=f"config.yaml:1: install_root '.*' {pattern}"):
        load_config(env)
    with pytest.raises(ConfigError, match=pattern):
        load_config({**env, "SPACKCACHE_INSTALL_ROOT": "", "SPACKCACHE_UPSTREAMS": value})


def test_paths_expand_in_the_users_environment(system: Path, env: dict[str, str]) -> None:
    system.write_text("install_root: $WORK/spack\nupstreams: ['~/site']\n")
    config = load_config({**env, "WORK": "/work/u1"})
    assert config.install_root == Path("/work/u1/spack")
    assert config.upstreams == (Path(env["HOME"]) / "site",)


# ---- one precedence ------------------------------------------------------------------------


def test_values_site_then_user_then_environment_then_server(
    system: Path, env: dict[str, str]
) -> None:
    system.write_text("install_root: /site\nauto_kernels: true\n")
    assert load_config(env).install_root == Path("/site")
    user_file(env).write_text("install_root: /user\n")
    config = load_config(env)
    assert config.install_root == Path("/user") and config.auto_kernels is True
    assert config.sources["install_root"] == f"user file {user_file(env)}:1"
    assert config.sources["auto_kernels"] == f"site file {system}:2"
    env["SPACKCACHE_INSTALL_ROOT"] = "/env"
    assert load_config(env).install_root == Path("/env")
    server = SpackCache(config=_traits(install_root="/server")).site_settings()
    config = effective_config(server, env)
    assert config.install_root == Path("/server")
    assert config.sources["install_root"] == "server traitlet c.SpackCache.install_root"


def test_the_server_exports_its_values_to_terminals_and_kernels(env: dict[str, str]) -> None:
    from jupyter_spackcache.server.site_policy import export_settings

    site = SpackCache(config=_traits(install_root="$WORK/sw", upstreams=["/apps"]))
    child_env = {**env, "WORK": "/w"}
    export_settings(site.site_settings(), child_env)
    assert child_env["SPACKCACHE_INSTALL_ROOT"] == "/w/sw"
    config = load_config(child_env)  # what `spackcache` in a JupyterLab terminal reads
    assert config.install_root == Path("/w/sw") and config.upstreams == (Path("/apps"),)


def _traits(**values: object) -> object:
    from traitlets.config import Config as TraitletsConfig

    return TraitletsConfig({"SpackCache": values})


# ---- mirrors from a user's own Jupyter config are never "site" ---------------------------------


def test_mirrors_from_a_users_jupyter_config_are_user_mirrors(
    system: Path, env: dict[str, str], tmp_path: Path
) -> None:
    system.write_text("policy: {allow_unsigned: false}\n")
    user_dir = tmp_path / "dot-jupyter"
    user_dir.mkdir()
    entry = {"name": "mine", "url": "https://u.example.org/c", "unsigned": True}
    ok = {"name": "ok", "url": "https://u.example.org/ok"}
    (user_dir / "jupyter_server_config.json").write_text(
        json.dumps({"SpackCache": {"mirrors": [entry, ok]}})
    )
    sys_dir = tmp_path / "etc-jupyter"
    sys_dir.mkdir()
    admin = {"name": "centre", "url": "https://cache.example.org/c"}
    (sys_dir / "jupyter_server_config.json").write_text(
        json.dumps({"SpackCache": {"mirrors": [admin]}})
    )
    files = [
        str(sys_dir / "jupyter_server_config.json"),
        str(user_dir / "jupyter_server_config.json"),
    ]
    users = user_config_mirrors(files, [str(sys_dir)])
    assert users == [entry, ok]
    traits = SpackCache(config=_traits(mirrors=[admin, entry, ok]))  # as Jupyter merged them
    config = effective_config(traits.site_settings(users), env)
    assert [(m.name, m.origin) for m in config.mirrors] == [("centre", "site"), ("ok", "user")]


# ---- values: Fingerprint and Policy --------------------------------------------------------


@pytest.mark.parametrize(
    "text", [FPR, FPR.lower(), "0x" + FPR, " ".join(FPR[i : i + 4] for i in range(0, 40, 4))]
)
def test_fingerprints_are_written_one_way(text: str) -> None:
    assert Fingerprint(text) == FPR and Fingerprint("ab" * 32) == "AB" * 32


@pytest.mark.parametrize("text", ["", "0123456789ABCDEF", FPR + "0", "G" * 40])
def test_short_or_odd_fingerprints_are_refused(text: str) -> None:
    with pytest.raises(FingerprintError):
        Fingerprint(text)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://169.254.169.254/latest", "mirrors on 169.254.169.254"),
        ("http://[fd00:ec2::254]/x", "mirrors on fd00:ec2::254"),
        ("http://[fe80::1]/x", "mirrors on fe80::1"),
        ("http://[::ffff:169.254.169.254]/x", "mirrors on ::ffff:169.254.169.254"),
        ("https://cache.example.org/x", None),
        ("http://127.0.0.1:8000/x", None),  # loopback is the site's call (denied_hosts)
    ],
)
def test_link_local_is_denied_by_default(url: str, refused: str | None) -> None:
    why = Policy().refusal(MirrorConfig("m", url))
    assert why == (None if refused is None else f"this site does not allow {refused}")


def test_host_and_scheme_lists(system: Path, env: dict[str, str]) -> None:
    system.write_text(
        "policy:\n"
        "  allowed_schemes: [https, oci]\n"
        "  allowed_hosts: ['*.example.org', '10.0.0.0/8']\n"
        "  denied_hosts: [bad.example.org, 127.0.0.0/8]\n"
    )
    policy = load_config(env).policy
    check: Callable[[str], str | None] = policy.url_refusal
    assert check("https://cache.example.org/c") is None
    assert check("oci://10.1.2.3/repo") is None
    assert (
        check("https://bad.example.org/c") == "this site does not allow mirrors on bad.example.org"
    )
    assert check("https://other.org/c") == "this site does not allow mirrors on other.org"
    assert check("http://cache.example.org/c") == "this site does not allow http:// mirrors"
    assert "mirrors on 127.0.0.1" in (check("https://127.0.0.1/c") or "")
    narrower = policy.tightened(Policy(allowed_hosts=(("cache.example.org",),)))
    assert narrower.url_refusal("https://www.example.org/c") is not None
    assert narrower.url_refusal("https://cache.example.org/c") is None


def test_config_check_prints_values_and_where_they_came_from(
    system: Path,
    env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jupyter_spackcache.cli import main

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("SPACKCACHE_SITE_CONFIG", raising=False)
    monkeypatch.delenv("SPACKCACHE_INSTALL_ROOT", raising=False)
    system.write_text(STRICT + "install_root: /site/sw\n")
    assert main(["config", "check", "--json"]) == 0
    rows = {r["setting"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["install_root"]["value"] == "/site/sw"
    assert rows["install_root"]["from"] == f"site file {system}:4"
    assert rows["policy.allow_unsigned"]["from"] == f"site file {system}:1"
    assert rows["auto_kernels"]["from"] == "default"
    assert rows["mirrors.centre"]["from"] == f"site file {system}:3"
    candidate = tmp_path / "new.yaml"
    candidate.write_text("policy:\n  allow_unsigned: false\n  fingerprint: []\n")
    assert main(["config", "check", str(candidate)]) == 1
    err = capsys.readouterr().err
    assert f"{candidate}:3: unknown key 'policy.fingerprint'" in err
    user_file(env).write_text("install_rot: /x\n")  # even a broken user file can be checked
    assert main(["config", "check"]) == 1
    assert "did you mean 'install_root'?" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("target", "site", "refused"),
    [
        ("http://169.254.169.254/latest/meta-data/", "", "connections to 169.254.169.254"),
        ("http://127.0.0.2:9/x", "policy: {denied_hosts: [127.0.0.2/32]}\n", "127.0.0.2"),
        ("file:///etc/passwd", "", "redirects to file://"),
    ],
)
def test_redirects_never_lead_to_denied_hosts(
    system: Path,
    env: dict[str, str],
    tmp_path: Path,
    http_mirror: Any,
    target: str,
    site: str,
    refused: str,
) -> None:
    from jupyter_spackcache.ops.mirrors import MirrorRequest, add_mirror
    from jupyter_spackcache.session import Session

    system.write_text(site)
    (tmp_path / "cache" / "v3").mkdir(parents=True)
    server = http_mirror(tmp_path / "cache")
    server.fault("*", redirect=target)
    with Session(load_config(env)) as session, pytest.raises(PolicyError) as err:
        add_mirror(MirrorRequest("m", server.url), config=session.config, keyring=None)
    assert " redirects to " in str(err.value) and refused in str(err.value)
    assert not user_file(env).exists()  # nothing saved


# ---- network settings and private mirrors ---------------------------------------------------


def test_network_settings_user_over_site_and_checked(system: Path, env: dict[str, str]) -> None:
    system.write_text("network: {timeout: 10, attempts: 3}\n")
    user_file(env).write_text("network: {timeout: 2.5, min_bytes: 100}\n")
    policy = load_config(env).network
    assert (policy.timeout, policy.attempts, policy.min_bytes) == (2.5, 3, 100)
    user_file(env).write_text("network:\n  timeout: 0\n")
    with pytest.raises(ConfigError, match=r"config\.yaml:2: 'network\.timeout' must be a positive"):
        load_config(env)
    user_file(env).write_text("network:\n  retries: 3\n")
    with pytest.raises(ConfigError, match=r"unknown key 'network\.retries'"):
        load_config(env)


def test_mirror_auth_and_ca_bundle_round_trip(system: Path, env: dict[str, str]) -> None:
    user_file(env).write_text(
        "mirrors:\n"
        "  - name: private\n    url: https://cache.example.org/spack\n"
        "    auth: {username: alice, password_env: CACHE_PW}\n"
        "    ca_bundle: /etc/pki/site-ca.pem\n"
    )
    (mirror,) = load_config(env).mirrors
    assert mirror.auth is not None and mirror.auth.password_env == "CACHE_PW"
    assert mirror.ca_bundle == "/etc/pki/site-ca.pem"
    assert mirror.to_yaml()["auth"] == {"username": "alice", "password_env": "CACHE_PW"}
    user_file(env).write_text(
        "mirrors:\n  - {name: p, url: 'https://c.example.org', auth: {username: alice}}\n"
    )
    with pytest.raises(ConfigError, match="needs a username with one of password"):
        load_config(env)
