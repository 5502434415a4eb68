"""Entry point of ``python -m lib.compare_precision``; the command itself is :mod:`lib.cli.compare_precision`."""
import sys

from .cli import run
from .cli.compare_precision import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.compare_precision"))
