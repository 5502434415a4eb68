"""Entry point of ``python -m lib.restore``; the command itself is :mod:`lib.cli.restore`."""
import sys

from .cli import run
from .cli.restore import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.restore"))
