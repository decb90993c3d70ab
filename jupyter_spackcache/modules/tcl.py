"""Render a :class:`~.content.ModuleFile` as a Tcl modulefile (Environment Modules, or Lmod).

Layout after Spack's ``modulefile.tcl`` template: ``module-whatis`` and ``ModulesHelp``, then
the dependencies — ``depends-on`` under Lmod, ``module load`` under Environment Modules (whose
automated module handling unloads them again with this module) — then the environment.
Every word is quoted here, so no path or variant can become Tcl code.
"""

from __future__ import annotations

from .content import ModuleFile
from .lmod import MARKER

SUFFIX = ""


def render(module: ModuleFile) -> str:
    lines = [
        "#%Module1.0",
        f"## {MARKER}: `spackcache module refresh` rewrites this file, do not edit it",
        f"## {module.short_spec}",
        "",
        f"module-whatis {tcl_word(module.description)}",
        "",
        "proc ModulesHelp { } {",
        *(f"    puts stderr {tcl_word(line)}" for line in module.help_lines),
        "}",
        "",
    ]
    if module.depends_on:
        lines.append("if {![info exists ::env(LMOD_VERSION_MAJOR)]} {")
        lines += [f"    module load {tcl_word(name)}" for name in module.depends_on]
        lines.append("} else {")
        lines += [f"    depends-on {tcl_word(name)}" for name in module.depends_on]
        lines += ["}", ""]
    for variable, dirs in module.prepend:
        lines += [f"prepend-path {tcl_word(variable)} {tcl_word(d)}" for d in reversed(dirs)]
        if variable == "MANPATH":
            lines.append("append-path MANPATH {}")
    lines += [f"setenv {tcl_word(k)} {tcl_word(v)}" for k, v in module.setenv]
    return "\n".join(lines) + "\n"


def tcl_word(text: str) -> str:
    """One Tcl word with no substitutions: ``"…"`` with every special character escaped."""
    out = []
    for ch in text:
        if ch in '\\"$[]{};':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
