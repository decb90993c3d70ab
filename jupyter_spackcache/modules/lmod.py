"""Render a :class:`~.content.ModuleFile` as an Lmod modulefile (Lua).

Layout after Spack's ``modulefile.lua`` template: ``whatis`` and ``help`` from the spec, the
dependencies through ``depends_on`` (Lmod loads them first and unloads them with this module
when nothing else needs them), then the environment. Every string is a Lua literal built here,
so no path or variant can break out of it.
"""

from __future__ import annotations

from .content import ModuleFile

#: on the second line of every file we write; only such files are ever rewritten or removed
MARKER = "written by jupyter-spackcache"
SUFFIX = ".lua"


def render(module: ModuleFile) -> str:
    lines = [
        "-- -*- lua -*-",
        f"-- {MARKER}: `spackcache module refresh` rewrites this file, do not edit it",
        f"-- {_comment(module.short_spec)}",
        "",
        f"whatis({lua_string('Name : ' + module.package)})",
        f"whatis({lua_string('Version : ' + module.version)})",
        f"whatis({lua_string('Target : ' + module.target)})",
        f"whatis({lua_string('Description : ' + module.description)})",
        "",
        f"help({lua_string(chr(10).join(module.help_lines))})",
        "",
    ]
    lines += [f"depends_on({lua_string(name)})" for name in module.depends_on]
    if module.depends_on:
        lines.append("")
    for variable, dirs in module.prepend:
        # each prepend goes in front of the last, so the foremost directory is written last
        lines += [f"prepend_path({lua_string(variable)}, {lua_string(d)})" for d in reversed(dirs)]
        if variable == "MANPATH":  # an empty entry keeps man's system search path (as Spack)
            lines.append('append_path("MANPATH", "")')
    lines += [f"setenv({lua_string(k)}, {lua_string(v)})" for k, v in module.setenv]
    return "\n".join(lines) + "\n"


def lua_string(text: str) -> str:
    """A double-quoted Lua literal of ``text``."""
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\{ord(ch):03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _comment(text: str) -> str:
    return text.replace("\n", " ")
