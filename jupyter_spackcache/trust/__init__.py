"""Trust: the private GnuPG keyring, and checking clear-signed metadata.

Signed mirrors wrap each spec file (v2) or spec manifest (v3) in a PGP clear signature (its
parts are read by :mod:`jupyter_spackcache.formats.clearsign`); the rest of a package is bound
to it by sha256. Nothing else in the client runs gpg.
"""

from __future__ import annotations

from .keyring import Keyring
from .keys import KeyInfo
from .verdict import Verified

__all__ = ["KeyInfo", "Keyring", "Verified"]
