"""``spackcache config check [FILE]``: the effective settings and where each one came from.

An admin editing a site file wants to know, before users do, whether it is valid and what a
user will actually get; a user wants to know why a mirror is missing or which install root wins.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from ..config import Config, load_config, site_layers
from ..configschema import read_located, validate
from ..present import print_json
from ..session import Session


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="check the configuration")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = csub.add_parser(
        "check", help="validate the config files and print the effective settings"
    )
    check.add_argument(
        "file", nargs="?", help="check this file too, as an extra site layer (or --user)"
    )
    check.add_argument("--user", action="store_true", help="check FILE as a user config file")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=_check, needs_session=False)


def _check(_session: Session | None, args: argparse.Namespace) -> int:
    env = dict(os.environ)
    if args.file:
        path = Path(args.file)
        validate(read_located(path), str(path), site=not args.user)
        if args.user:
            home = Path(env.get("SPACKCACHE_HOME") or "~/.spackcache").expanduser()
            if path.resolve() != (home / "config.yaml").resolve():
                print(f"{path}: valid user config")
                return 0
        else:
            env["SPACKCACHE_SITE_CONFIG"] = str(path)
    config = load_config(env)
    rows = effective_rows(config, env)
    if args.json:
        print_json(rows)
        return 0
    files = [str(p) for p in site_layers(env)]
    print(f"site files: {', '.join(files) or 'none'}")
    user = config.user_config_path
    print(f"user file: {user if user.is_file() else 'none'}")
    width = max(len(r["setting"]) for r in rows)
    for row in rows:
        print(f"{row['setting']:<{width}}  {row['value']}    ({row['from']})")
    return 0


def effective_rows(config: Config, env: dict[str, str]) -> list[dict[str, Any]]:
    """One row per setting: its name, its effective value as text, where it came from."""
    src = config.sources
    rows: list[dict[str, Any]] = []

    def add(setting: str, value: Any, default: str = "default") -> None:
        rows.append({"setting": setting, "value": value, "from": src.get(setting, default)})

    for m in config.mirrors:
        flags = [m.origin] + (["unsigned"] if m.unsigned else [])
        if m.fingerprints:
            flags.append("pinned " + ",".join(m.fingerprints))
        add(f"mirrors.{m.name}", f"{m.url} [{'; '.join(flags)}]")
    policy = config.policy
    for key in ("allow_user_mirrors", "allow_unsigned", "allow_file_mirrors"):
        add(f"policy.{key}", str(getattr(policy, key)).lower())
    add("policy.allowed_schemes", ", ".join(policy.allowed_schemes or ["any"]))
    add(
        "policy.allowed_hosts",
        " and ".join("(" + ", ".join(rules) + ")" for rules in policy.allowed_hosts) or "any",
    )
    add("policy.denied_hosts", ", ".join(policy.denied_hosts))
    add("install_root", str(config.store_root), "default ($SPACKCACHE_HOME/opt)")
    add("upstreams", ", ".join(map(str, config.upstreams)) or "none")
    add("auto_kernels", str(config.auto_kernels).lower())
    presets = ", ".join(f"{p.name} ({p.url})" for p in config.mirror_presets)
    add("mirror_presets", presets or "none")
    add("offer_demo_mirror", str(config.offer_demo_mirror).lower())
    modules = config.modules
    add("modules.enable", ", ".join(modules.enable) or "none")
    set_roots = dict(modules.roots)
    for fmt in modules.enable:
        origin = src.get("modules.roots", "default") if fmt in set_roots else "default"
        add(f"modules.roots.{fmt}", str(config.module_root(fmt)), origin)
    add("modules.all_nodes", str(modules.all_nodes).lower())
    add("modules.jupyter_lmod", str(modules.jupyter_lmod).lower())
    for key in ("platform", "os", "target", "libc"):
        value = getattr(config.host, key)
        add(f"host.{key}", value or "detected", "detected")
    home_from = "environment $SPACKCACHE_HOME" if env.get("SPACKCACHE_HOME") else "default"
    add("home", str(config.home), home_from)
    return rows
