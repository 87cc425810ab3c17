"""Entry point: ``python -m cmcsl_core ...`` (see :mod:`cmcsl_core.cli`)."""

import sys

from cmcsl_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
