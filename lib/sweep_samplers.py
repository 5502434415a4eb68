"""Entry point of ``python -m lib.sweep_samplers``; the command itself is :mod:`lib.cli.sweep_samplers`."""
import sys

from .cli import run
from .cli.sweep_samplers import main

if __name__ == "__main__":
    sys.exit(run(main, prog="python -m lib.sweep_samplers"))
