"""Entry point of ``python -m lib.info``; the command itself is :mod:`lib.cli.info`."""
import sys

from .cli import run
from .cli.info import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.info"))
