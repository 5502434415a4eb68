"""Entry point of ``python -m lib.score_epochs``; the command itself is :mod:`lib.cli.score_epochs`."""
import sys

from .cli import run
from .cli.score_epochs import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.score_epochs"))
