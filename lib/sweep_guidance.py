"""Entry point of ``python -m lib.sweep_guidance``; the command itself is :mod:`lib.cli.sweep_guidance`."""
import sys

from .cli import run
from .cli.sweep_guidance import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.sweep_guidance"))
