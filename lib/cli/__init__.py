"""Shared command-line plumbing: one-line errors and a non-zero exit, never a traceback."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from ..checkpoints import CheckpointError
from ..data import DatasetNotFoundError

#: Errors that mean "the user asked for something wrong or missing", reported in one line.
USER_ERRORS = (ValueError, TypeError, CheckpointError, DatasetNotFoundError, FileNotFoundError,
               FileExistsError, PermissionError, IsADirectoryError, NotADirectoryError)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_weights_arguments(p: argparse.ArgumentParser, batch_default: int) -> None:
    """--epoch, --weights and --batch: which weights of a checkpoint to use, and images per network call."""
    p.add_argument("--epoch", type=int, help="use the weights kept at this epoch (default: the last)")
    p.add_argument("--weights", choices=("auto", "ema", "raw"), default="auto",
                   help="EMA or raw weights (default auto: EMA when the run kept them)")
    p.add_argument("--batch", type=int, default=batch_default, help=f"images per network call (default {batch_default})")


def add_record_arguments(p: argparse.ArgumentParser) -> None:
    """--out, --data, --device and --no-progress of the commands that fill a resumable JSON score record."""
    p.add_argument("--out", required=True, help="the JSON record (created, or completed if it exists)")
    p.add_argument("--data", help="MNIST root, relative to the current folder (default: $DIFFUSION_BOOK_DATA)")
    add_device_argument(p, "where samples are drawn (scores are computed on the CPU); each entry names it")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_device_argument(p: argparse.ArgumentParser, what: str) -> None:
    """--device, checked when parsed: a name torch knows, and a GPU that is there."""
    p.add_argument("--device", type=lambda text: device_name(p, text), default="cpu",
                   help=f"torch device, e.g. cpu, cuda, cuda:1 (default: cpu); {what}")


def device_name(p: argparse.ArgumentParser, text: str) -> str:
    """``text`` if it names a torch device this machine has, else a one-line usage error."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        p.error(f"--device {text!r} is not a torch device; use cpu, cuda or cuda:N")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            p.error(f"--device {text}: PyTorch sees no CUDA GPU on this machine; use --device cpu")
        if device.index is not None and device.index >= count:
            p.error(f"--device {text}: this machine has {count} CUDA GPU(s), numbered 0 to {count - 1}")
    elif device.type != "cpu":
        p.error(f"--device {text}: only cpu and cuda devices are supported")
    return text


def comma_list(p: argparse.ArgumentParser, option: str, text: str, kind: type = int) -> list:
    """``text`` split at commas and read as ``kind`` (int or float), or a one-line error naming ``option``."""
    try:
        return [kind(v) for v in text.split(",")]
    except ValueError:
        what = "whole numbers" if kind is int else "numbers"
        p.error(f"{option} must be comma-separated {what}, got {text!r}")


def check_count_batch_out(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    """One-line errors for --n < 1, --batch < 1 and an --out that is not a .npz file."""
    if a.n < 1:
        p.error(f"--n must be >= 1, got {a.n}")
    if a.batch < 1:
        p.error(f"--batch must be >= 1, got {a.batch}")
    if not a.out.endswith(".npz"):
        p.error(f"--out must name a .npz file, got {a.out!r}")


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None, prog: str = "lib") -> int:
    try:
        return main(argv)
    except USER_ERRORS as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; the last completed epoch's checkpoint is kept (use --resume)", file=sys.stderr)
        return 130
