"""Shared command-line plumbing: one-line errors and a non-zero exit, never a traceback."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from ..checkpoints import CheckpointError
from ..data import MNISTNotFoundError

#: Errors that mean "the user asked for something wrong or missing", reported in one line.
USER_ERRORS = (ValueError, TypeError, CheckpointError, MNISTNotFoundError, FileNotFoundError,
               FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None, prog: str = "lib") -> int:
    try:
        return main(argv)
    except USER_ERRORS as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the last completed epoch's checkpoint is kept (use --resume)", file=sys.stderr)
        return 130
