"""Site policy from traitlets laid over the core's site and user YAML: precedence, never looser."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from traitlets import TraitError
from traitlets.config import Config as TraitletsConfig

from jupyter_spackcache.server.site_policy import SpackCache, effective_config

FPR = "0123456789ABCDEF0123456789ABCDEF01234567"


def write(path: Path, data: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    write(
        home / "config.yaml",
        {
            "install_root": "/user/choice",
            "mirrors": [
                {"name": "mine", "url": "https://user.example.org/cache"},
                {"name": "loose", "url": "https://user.example.org/u", "unsigned": True},
                {"name": "local", "url": str(tmp_path / "cache")},
                {"name": "central", "url": "https://user.example.org/fake-central"},
            ],
        },
    )
    site = write(
        tmp_path / "site.yaml",
        {
            "policy": {"allow_unsigned": False},
            "install_root": "/site/yaml",
            "mirrors": [{"name": "yaml-site", "url": "https://site.example.org/v3"}],
        },
    )
    return {"SPACKCACHE_HOME": str(home), "SPACKCACHE_SITE_CONFIG": str(site)}


def settings(**traits: object) -> SpackCache:
    return SpackCache(config=TraitletsConfig({"SpackCache": traits}))


def test_without_traitlets_the_yaml_config_applies(env: dict[str, str]) -> None:
    config = effective_config(settings().site_settings(), env)
    # the site YAML forbids unsigned mirrors: the user's hand-written unsigned one is dropped
    assert [m.name for m in config.mirrors] == ["yaml-site", "mine", "local", "central"]
    assert config.install_root == Path("/user/choice")  # user YAML wins over site YAML
    assert config.policy.allow_unsigned is False


def test_traitlets_win_and_never_loosen_the_site_policy(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {**env, "WORK": "/work/u1"}  # expanded in the single-user server's environment
    admin = settings(
        mirrors=[
            {
                "name": "central",
                "url": "https://site.example.org/central",
                "fingerprints": [FPR.lower()],
            }
        ],
        allow_unsigned_mirrors=True,  # the site YAML forbids it: stays forbidden
        allow_file_mirrors=False,
        install_root="$WORK/spack",
        upstreams=["/apps/spack/opt"],
        auto_kernels=True,
    )
    config = effective_config(admin.site_settings(), env)
    assert [(m.name, m.origin) for m in config.mirrors] == [
        ("central", "site"),
        ("yaml-site", "site"),
        ("mine", "user"),
    ]  # the user's "central" is shadowed; unsigned and file:// user mirrors are dropped
    central = config.mirror("central")
    assert central.url == "https://site.example.org/central" and central.fingerprints == (FPR,)
    assert config.policy.allow_unsigned is False and config.policy.allow_file_mirrors is False
    assert config.policy.allow_user_mirrors is True
    # config check: the site file that forbade is the source, not the traitlet that said True
    assert config.sources["policy.allow_unsigned"].startswith("site file ")
    assert config.sources["policy.allow_file_mirrors"] == "server traitlet c.SpackCache"
    assert config.install_root == Path("/work/u1/spack")
    assert config.upstreams == (Path("/apps/spack/opt"),) and config.auto_kernels is True


def test_forbidding_user_mirrors_keeps_only_site_mirrors(env: dict[str, str]) -> None:
    config = effective_config(settings(allow_user_mirrors=False).site_settings(), env)
    assert [m.name for m in config.mirrors] == ["yaml-site"]


def test_a_malformed_admin_mirror_is_refused_when_configured() -> None:
    bad = r"c\.SpackCache\.mirrors: 'fingerprints' not a key fingerprint: 'abc'"
    with pytest.raises(TraitError, match=bad):
        settings(mirrors=[{"name": "x", "url": "https://x.org", "fingerprints": ["abc"]}])
    with pytest.raises(TraitError, match="a mirror needs a 'name'"):
        settings(mirrors=[{"url": "https://x.org"}])
