"""Entry point of ``python -m lib.sample``; the command itself is :mod:`lib.cli.sample`."""
import sys

from .cli import run
from .cli.sample import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.sample"))
