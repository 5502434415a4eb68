"""Where things live: the data root, the repository's shipped files, and the short execution mode.

Nothing here reads a global that a caller cannot override: every function takes an explicit
argument first and falls back to an environment variable, then to a default.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the data root: the folder that holds ``MNIST/raw/*-ubyte`` and the other
#: data sets in torchvision's layouts (lib.data).
DATA_ENV = "DIFFUSION_BOOK_DATA"
#: Environment variable that switches chapters and scripts to their short execution mode.
SHORT_ENV = "DIFFUSION_BOOK_SHORT"

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Trained checkpoints shipped with the repository (one folder per configuration).
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
#: Small measured results shipped with the repository (JSON files written by lib commands).
RESULTS_DIR = REPO_ROOT / "results"


def _absolute(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` expanded, made absolute against the current working directory."""
    return Path(os.path.abspath(Path(path).expanduser()))


def default_data_root() -> Path:
    """The per-user cache folder used when neither an argument nor ``$DIFFUSION_BOOK_DATA`` is set."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return _absolute(Path(base) / "diffusion-book" / "data")


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Resolve the data root: the argument, then ``$DIFFUSION_BOOK_DATA``, then the cache folder.

    The result is always absolute. A relative path (``root``, ``--data`` or the variable) is taken
    relative to the current working directory of this process, at the time of the call, and never
    against another folder (not the repository, not ``book/``). Chapter kernels run in ``book/`` or
    in ``_build/nbval``, not where ``make`` was typed: the Makefile and ``scripts/test.sh`` make
    ``$DIFFUSION_BOOK_DATA`` absolute before any kernel starts.
    """
    if root is not None:
        return _absolute(root)
    env = os.environ.get(DATA_ENV)
    if env:
        return _absolute(env)
    return default_data_root()


def short_mode() -> bool:
    """True when ``$DIFFUSION_BOOK_SHORT`` is set to a true value (1, true, yes, on).

    Short mode runs the same code paths on less data and fewer steps; CI uses it.
    """
    return os.environ.get(SHORT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def shipped_checkpoint(name: str = "default") -> Path:
    """Path of the checkpoint that the repository ships for configuration ``name``."""
    return CHECKPOINT_DIR / name / "checkpoint.pt"
