"""``python -m tinydagan ...`` runs the ``tinydagan`` command (see ``cli.py``)."""
import sys

from .cli import main

sys.exit(main())
