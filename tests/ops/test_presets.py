"""What the site offers a new user (``mirror_presets``, ``offer_demo_mirror``) and the demo
mirror use case's checks before any build: validated like every key, site files only.

The system site file is the module-level seam ``config.SYSTEM_SITE_FILES`` (see
tests/ops/test_config.py): nothing under /etc is written.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_spackcache import config as config_mod
from jupyter_spackcache.config import MirrorConfig, load_config
from jupyter_spackcache.errors import ConfigError, PolicyError
from jupyter_spackcache.ops.demo import (
    DemoRequest,
    demo_destination,
    demo_missing_tool,
    setup_demo_mirror,
)
from jupyter_spackcache.presets import DEFAULT_PRESETS, SPACK_PUBLIC, MirrorPreset
from jupyter_spackcache.trust import Keyring


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "etc" / "config.yaml"
    path.parent.mkdir(parents=True)
    monkeypatch.setattr(config_mod, "SYSTEM_SITE_FILES", (path,))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    return {"SPACKCACHE_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)}


def test_by_default_spacks_public_cache_and_the_demo_are_offered(
    system: Path, env: dict[str, str]
) -> None:
    config = load_config(env)
    assert config.mirror_presets == DEFAULT_PRESETS == (SPACK_PUBLIC,)
    assert SPACK_PUBLIC.url == "https://binaries.spack.io/develop"
    assert SPACK_PUBLIC.unsigned is False  # its key is reviewed like any mirror's
    assert config.offer_demo_mirror is True
    assert SPACK_PUBLIC.mirror_mapping() == {
        "name": "spack-public",
        "url": "https://binaries.spack.io/develop",
        "unsigned": False,
    }


def test_the_site_replaces_or_hides_the_offers(
    system: Path, env: dict[str, str], tmp_path: Path
) -> None:
    system.write_text(
        "mirror_presets:\n"
        "  - name: team\n"
        "    url: https://cache.example.org/team/\n"
        "    unsigned: true\n"
        "    s3_endpoint: https://s3.example.org\n"
        "  - {name: local, url: /srv/cache, title: Local cache, description: On the cluster}\n"
        "offer_demo_mirror: false\n"
    )
    config = load_config(env)
    assert config.mirror_presets == (
        MirrorPreset(
            "team",
            "https://cache.example.org/team",  # as a configured mirror's url reads
            "team",
            unsigned=True,
            s3_endpoint="https://s3.example.org",
        ),
        MirrorPreset("local", "file:///srv/cache", "Local cache", "On the cluster"),
    )
    assert config.offer_demo_mirror is False
    assert config.sources["mirror_presets"] == f"site file {system}:1"
    # a later site layer replaces the list: [] offers nothing
    extra = tmp_path / "extra.yaml"
    extra.write_text("mirror_presets: []\n")
    config = load_config({**env, "SPACKCACHE_SITE_CONFIG": str(extra)})
    assert config.mirror_presets == () and config.offer_demo_mirror is False


def test_a_user_file_may_not_set_the_offers(system: Path, env: dict[str, str]) -> None:
    user = Path(env["SPACKCACHE_HOME"]) / "config.yaml"
    for line, key in (("mirror_presets: []", "mirror_presets"), ("offer_demo_mirror: no", "")):
        user.write_text(f"auto_kernels: false\n{line}\n")
        with pytest.raises(ConfigError) as err:
            load_config(env)
        key = key or "offer_demo_mirror"
        assert str(err.value).startswith(f"{user}:2: '{key}' may only be set in the site")


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        ("mirror_presets: {name: a}\n", 1, "'mirror_presets' must be a list", None),
        ("mirror_presets:\n  - just-a-url\n", 1, "each preset must be a mapping", None),
        (
            "mirror_presets:\n  - name: a\n    url: https://a.org\n    titel: A\n",
            4,
            "unknown key 'mirror_presets.titel'",
            "did you mean 'title'?",
        ),
        (
            "mirror_presets:\n  - name: a\n    url: https://a.org\n    fingerprints: [X]\n",
            4,
            "unknown key 'mirror_presets.fingerprints'",
            "valid keys: name, url",
        ),
        ("mirror_presets:\n  - {name: a}\n", 2, "a preset needs a 'url'", None),
        (
            "mirror_presets:\n  - {name: a, url: 'https://a', unsigned: 'yes'}\n",
            2,
            "'mirror_presets.unsigned' must be true or false",
            None,
        ),
        (
            "mirror_presets:\n  - name: a\n    url: ftp://a.org/c\n",
            3,
            "'mirror_presets.url' has unknown scheme 'ftp://'",
            None,
        ),
        (
            "mirror_presets:\n  - name: 'my cache'\n    url: https://a.org\n",
            2,
            "'my cache' is not a mirror name",
            "letters, digits",
        ),
        (
            "mirror_presets:\n  - {name: a, url: 'https://a'}\n  - {name: a, url: 'https://b'}\n",
            3,
            "preset 'a' is listed twice",
            None,
        ),
        ("offer_demo_mirror: maybe\n", 1, "'offer_demo_mirror' must be true or false", None),
    ],
)
def test_every_mistake_names_file_line_and_key(
    system: Path, env: dict[str, str], text: str, line: int, message: str, hint: str | None
) -> None:
    system.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(env)
    assert str(err.value).startswith(f"{system}:{line}: "), str(err.value)
    assert message in str(err.value) and "\n" not in str(err.value)
    if hint:
        assert hint in (err.value.hint or "")


def test_no_gcc_is_said_before_anything_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    assert demo_missing_tool() is None  # the test machine has gcc
    monkeypatch.setenv("PATH", "/nonexistent")
    assert "gcc is not installed" in (demo_missing_tool() or "")


def test_the_demo_is_refused_before_any_build(
    system: Path, env: dict[str, str], tmp_path: Path
) -> None:
    system.write_text("policy: {allow_file_mirrors: false}\n")
    config = load_config(env)
    dest = demo_destination(config, DemoRequest())
    assert dest == Path(env["SPACKCACHE_HOME"]) / "demo-mirror"
    with Keyring(tmp_path / "g") as keyring, pytest.raises(PolicyError, match="file://"):
        setup_demo_mirror(DemoRequest(), config=config, keyring=keyring)
    assert not dest.exists() and not (config.home / "demo-gnupg").exists()

    # a mirror of that name elsewhere is never replaced
    other = replace(
        load_config({**env, "SPACKCACHE_SITE_CONFIG": ""}),
        mirrors=(MirrorConfig("demo", "https://elsewhere.example.org/c"),),
    )
    with Keyring(tmp_path / "g") as keyring, pytest.raises(ConfigError, match="already points"):
        setup_demo_mirror(DemoRequest(), config=other, keyring=keyring)


def test_a_directory_in_the_way_is_refused_not_overwritten(
    system: Path, env: dict[str, str], tmp_path: Path
) -> None:
    config = load_config(env)
    dest = demo_destination(config, DemoRequest())
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    with Keyring(tmp_path / "g") as keyring, pytest.raises(ConfigError, match="holds no mirror"):
        setup_demo_mirror(DemoRequest(), config=config, keyring=keyring)
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]
