"""``python -m jupyter_spackcache.cli``."""

import sys

from . import main

sys.exit(main())
