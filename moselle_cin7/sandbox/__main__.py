"""``python -m moselle_cin7.sandbox``: the sandbox server on its own (see ``cli.py``)."""

import sys

from moselle_cin7.sandbox.cli import main

sys.exit(main())
