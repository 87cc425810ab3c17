"""Entry point: ``python -m cmcsl_core ...`` (see :mod:`cmcsl_core.cli`)."""

from cmcsl_core.cli import console_main

if __name__ == "__main__":
    console_main()
