"""One error family for the whole core.

Every failure a user can cause or meet (bad spec, unreachable mirror, bad signature, full disk)
is a :class:`SpackCacheError` whose ``str()`` is a single line saying what went wrong, and whose
``hint`` says what to do next. Front doors (CLI, REST, magics) print exactly that and nothing
else, so the three behave the same.
"""

from __future__ import annotations

#: the page whose sections, one per :attr:`SpackCacheError.code`, explain each failure
TROUBLESHOOTING = "docs/troubleshooting.md"


class SpackCacheError(Exception):
    """A user-facing failure with a one-line reason and an optional next step."""

    #: short stable identifier, used by the troubleshooting docs and the REST API
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        one_line = " ".join(message.split())
        super().__init__(one_line)
        self.message = one_line
        self.hint = hint

    def __str__(self) -> str:
        return self.message

    @property
    def docs_anchor(self) -> str:
        """Where the troubleshooting docs explain this failure: the section named by its code."""
        return f"{TROUBLESHOOTING}#{self.code}"

    def render(self) -> str:
        """The message plus its hint, as printed by the CLI (still one line each)."""
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class SpecSyntaxError(SpackCacheError):
    """A spec string Spack would not parse; knows where, to point at the bad spot."""

    code = "spec-syntax"

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        column: int | None = None,
        hint: str | None = None,
    ) -> None:
        if column is not None:
            message = f"{message} at column {column}"
        super().__init__(message, hint=hint)
        #: the spec text that failed to parse
        self.text = text
        #: 1-based column of the offending character in ``text``
        self.column = column

    def caret(self) -> str:
        """Two lines: the spec, then ``^`` under the offending column."""
        if self.text is None or self.column is None:
            return self.text or ""
        shown = "".join(ch if ch.isprintable() else " " for ch in self.text)
        return f"{shown}\n{' ' * (self.column - 1)}^"


class ConfigError(SpackCacheError):
    code = "config"


class MirrorError(SpackCacheError):
    """A mirror could not be read: network, HTTP status, missing or malformed content."""

    code = "mirror"


class LayoutError(MirrorError):
    """The mirror uses a layout this client cannot read (too old or too new)."""

    code = "layout"


class IntegrityError(SpackCacheError):
    """Downloaded bytes do not match the checksum their (signed) metadata promises."""

    code = "integrity"


class SignatureError(SpackCacheError):
    """A signature is missing, invalid, or made by a key that is not trusted."""

    code = "signature"


class ResolveError(SpackCacheError):
    """No binary fits the request on this host."""

    code = "resolve"


class InstallError(SpackCacheError):
    code = "install"


class NotFoundError(MirrorError):
    """The mirror answered, but has no such file (HTTP 404, missing path, unknown tag)."""

    code = "not-found"


class InstallCancelled(InstallError):
    """The user cancelled; everything done so far was rolled back."""

    code = "cancelled"


class UnsatisfiableSpecError(SpackCacheError):
    """Two spec constraints no build could meet at once (``x ^y@1 ^y@2``, ``+mpi`` and
    ``~mpi``): raised when specs are combined, never when matching builds."""

    code = "unsatisfiable-spec"


class EnvFileError(ConfigError):
    """A ``spack.lock``/``spack.yaml`` (or notebook lock) that cannot be read as one."""

    code = "env-file"


class LockedBuildMissing(ResolveError):
    """A build an environment lock names by hash is in no configured mirror."""

    code = "locked-build-missing"


class PolicyError(ConfigError):
    """The site policy forbids this (a mirror, a key): not a mistake the user can fix alone."""

    code = "policy"


class SignedSpecMismatch(SignatureError):
    """The signed spec of a binary says something else than the (unsigned) index entry.

    Only signed data may decide what gets installed: a relabelled binary is refused.
    """

    code = "signed-mismatch"


class DependencyCycle(MirrorError):
    """A DAG from a mirror has a dependency cycle or a self-loop: it cannot be installed."""

    code = "dependency-cycle"


class DuplicateHash(MirrorError):
    """An index or spec document lists one DAG hash twice with different content."""

    code = "duplicate-hash"


class TooLarge(SpackCacheError):
    """Input from a mirror or a client is bigger or deeper than the configured bound."""

    code = "too-large"


class StateError(SpackCacheError):
    """Local state (databases, caches under ``$SPACKCACHE_HOME``) is damaged or unwritable."""

    code = "state"


def state_error(exc: BaseException) -> StateError | None:
    """A full disk, a read-only or damaged database as one line, or None for anything else.

    Local state is written in many places (databases, caches, config); wherever an ``OSError``
    or ``sqlite3`` error escapes, the front door words it with this.
    """
    import errno
    import sqlite3

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        where = f" {exc.filename}" if exc.filename else ""
        return StateError(
            f"cannot write{where}: the disk is full (or over quota)",
            hint="free some space and run the command again",
        )
    if isinstance(exc, sqlite3.Error):
        text = str(exc)
        if "full" in text:
            return StateError(
                f"cannot write a database under $SPACKCACHE_HOME: {text}",
                hint="free some space and run the command again",
            )
        if "not a database" in text or "malformed" in text:
            return StateError(
                f"a database under $SPACKCACHE_HOME is damaged: {text}",
                hint="run `spackcache doctor --repair`",
            )
        return StateError(
            f"a database under $SPACKCACHE_HOME cannot be used: {text}",
            hint="check that $SPACKCACHE_HOME is writable",
        )
    return None
