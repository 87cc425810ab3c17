"""Entry point: ``python -m cmcsl_core ...`` (see :mod:`cmcsl_core.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
