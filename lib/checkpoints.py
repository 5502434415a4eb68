"""Checkpoint files: atomic writes, validated reads, and where a run keeps its files.

A run folder holds ``checkpoint.pt`` (rewritten after every epoch: model, optimiser, random states,
configuration, history, and the EMA weights when the run keeps them) and, optionally,
``snapshots/epoch-NNNN.pt`` (weights only, written once at chosen epochs). Building a model from a
checkpoint lives in :mod:`lib.runs`; this module only moves bytes and checks their format.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

CHECKPOINT_FORMAT = "diffusion-book-checkpoint"
SNAPSHOT_FORMAT = "diffusion-book-snapshot"
CHECKPOINT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
#: Keys every training checkpoint holds (``ema`` is there only when the run keeps an EMA).
REQUIRED_KEYS = frozenset({"config", "epoch", "model", "optimizer", "rng", "history"})


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not match what was asked of it."""


def snapshot_path(run_dir: str | os.PathLike, epoch: int) -> Path:
    """Where a run keeps its weights from ``epoch`` (``RUN/snapshots/epoch-0005.pt``)."""
    return Path(run_dir) / "snapshots" / f"epoch-{epoch:04d}.pt"


def save_atomically(obj, path: str | os.PathLike, fsync: bool = True) -> Path:
    """``torch.save`` through a unique temporary file in the same folder, then rename: readers never
    see a partial file, and concurrent writers never share a temporary file."""
    return _replace_atomically(path, lambda f: torch.save(obj, f), fsync)


def save_json_atomically(obj, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON (a results record), atomically as :func:`save_atomically` does."""
    text = (json.dumps(obj, indent=1) + "\n").encode()
    return _replace_atomically(path, lambda f: f.write(text), fsync=False)


def _replace_atomically(path: str | os.PathLike, write, fsync: bool) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_checkpoint(path: str | os.PathLike, state: dict) -> Path:
    """Write a checkpoint atomically, with fsync: it may be the only copy of hours of training."""
    return save_atomically(state, path)


def resolve_checkpoint_path(path: str | os.PathLike) -> Path:
    """A run folder means its ``checkpoint.pt``; a file path is taken as it is."""
    path = Path(path)
    return path / CHECKPOINT_NAME if path.is_dir() else path


def _load(path: Path, what: str) -> dict:
    if not path.exists():
        raise CheckpointError(f"no {what} at '{path.resolve()}'")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"'{path}' is not a readable {what} (corrupt or truncated?): "
                              f"{type(exc).__name__}") from None


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Read and validate a training checkpoint (a file, or a run folder); raise
    :class:`CheckpointError` with a clear message."""
    path = resolve_checkpoint_path(path)
    state = _load(path, "checkpoint")
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"'{path}' is not a diffusion-book checkpoint")
    if state.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"'{path}' has checkpoint version {state.get('version')}, "
                              f"this library reads version {CHECKPOINT_VERSION}")
    missing = REQUIRED_KEYS - set(state)
    if missing:
        raise CheckpointError(f"'{path}' lacks {sorted(missing)}")
    return state


def read_snapshot(run_dir: str | os.PathLike, epoch: int) -> dict:
    """Read the weights a run kept at ``epoch``; the error lists the epochs it did keep."""
    path = snapshot_path(run_dir, epoch)
    if not path.exists():
        kept = sorted(int(p.stem.split("-")[1]) for p in (Path(run_dir) / "snapshots").glob("epoch-*.pt"))
        raise CheckpointError(f"'{run_dir}' kept no weights from epoch {epoch}; it has snapshots at "
                              f"{kept or 'no epoch'} and its last epoch in checkpoint.pt")
    state = _load(path, "snapshot")
    if not isinstance(state, dict) or state.get("format") != SNAPSHOT_FORMAT:
        raise CheckpointError(f"'{path}' is not a diffusion-book snapshot")
    return state
