#!/bin/sh
# sbang: run a script whose real shebang line is too long for the kernel.
#
# A relocated script starts with two interpreter lines:
#
#     #!/bin/sh /path/to/bin/sbang
#     #!/a/very/long/path/to/python -u
#
# The kernel runs `/bin/sh sbang script args...`; this reads the second line and runs
# `interpreter [argument] script args...`. The second line may also be written as a comment
# of the script's language: `--!` (Lua), `//!` (node.js) or `<?php #!... ?>` (PHP).
# Perl and Ruby get `-x` so that they skip the lines before their own `#!`.
# Set SBANG_DEBUG=1 to print the command instead of running it.

fail() {
    printf 'sbang: %s\n' "$*" >&2
    exit 1
}

[ $# -ge 1 ] || fail "usage: sbang SCRIPT [ARGUMENTS...]"
script=$1
[ -f "$script" ] || fail "$script: no such file"

# The interpreter line is the second line (or the first, when sbang is run by hand).
found=
count=0
while [ "$count" -lt 2 ] && IFS= read -r line; do
    count=$((count + 1))
    case $line in
        '#!'*) candidate=${line#??} ;;
        '//!'* | '--!'*) candidate=${line#???} ;;
        '<?php #!'*) candidate=${line#'<?php #!'}; candidate=${candidate%' ?>'} ;;
        *) continue ;;
    esac
    case $candidate in
        *sbang | *sbang' '*) [ "$count" -eq 1 ] && continue ;;
    esac
    found=$candidate
done < "$script"

[ -n "$found" ] || fail "no interpreter line found in $script"

# The interpreter is the first word; `#!/usr/bin/env NAME` names it in the second.
first_word() { printf '%s' "$1"; }
set -f
interpreter=$(first_word $found)
arg1=$(first_word ${found#"$interpreter"})
name=${interpreter##*/}
[ "$name" = env ] && name=$arg1
[ "$name" = sbang ] && fail "refusing to run sbang as its own interpreter"

# Word-split the line (globbing stays off) in front of the script and its arguments;
# Perl and Ruby also get -x so that they skip ahead to their own #! line.
case $name in
    perl | ruby) set -- $found -x "$@" ;;
    *) set -- $found "$@" ;;
esac

if [ -n "$SBANG_DEBUG" ]; then
    printf '%s\n' "$*"
    exit 0
fi
exec "$@"
