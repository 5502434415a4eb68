"""Entry point of ``python -m lib.train``; the command itself is :mod:`lib.cli.train`."""
import sys

from .cli import run
from .cli.train import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.train"))
