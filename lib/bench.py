"""Entry point of ``python -m lib.bench``; the command itself is :mod:`lib.cli.bench`."""
import sys

from .cli import run
from .cli.bench import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.bench"))
