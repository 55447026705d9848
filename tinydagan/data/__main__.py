"""``python -m tinydagan.data ...``: see :mod:`tinydagan.data.commands`."""
import sys

from .commands import main

sys.exit(main())
