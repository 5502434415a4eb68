"""A trained run, ready to use: load a checkpoint (or a snapshot of it) into its network and process.

``load_trained(path)`` builds the network the run's configuration names, loads its weights (the
EMA weights when the run kept them, unless ``weights="raw"``), and returns them with the forward
process, configuration and history. Checkpoints written by earlier versions of the library load too.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoints import CheckpointError, read_checkpoint, read_snapshot, resolve_checkpoint_path
from .configs import TrainConfig
from .processes import ForwardProcess

WEIGHTS = ("auto", "ema", "raw")


@dataclass
class Loaded:
    """A trained model (eval mode) with its ``process``, ``config``, ``history`` and ``epoch``.
    ``weights`` says which weights ``model`` holds: "ema" or "raw"."""

    model: torch.nn.Module
    process: ForwardProcess
    config: TrainConfig
    history: dict
    epoch: int
    path: Path
    weights: str

    @property
    def schedule(self):
        """The noise schedule of a Gaussian (DDPM) run."""
        return self.process.schedule


def load_trained(path: str | os.PathLike, epoch: int | None = None, weights: str = "auto") -> Loaded:
    """Load the run at ``path`` (a ``checkpoint.pt`` or its folder).

    ``epoch`` picks the weights kept at that epoch (a snapshot, or the last epoch); ``weights`` is
    "auto" (the EMA weights when the run has them, else the raw ones), "ema" or "raw".
    """
    if weights not in WEIGHTS:
        raise ValueError(f"weights must be one of {WEIGHTS}, got {weights!r}")
    ckpt_path = resolve_checkpoint_path(path)
    state = read_checkpoint(ckpt_path)
    source = state
    if epoch is not None and epoch != state["epoch"]:
        if epoch > state["epoch"] or epoch < 1:
            raise CheckpointError(f"'{ckpt_path}' has trained epochs 1..{state['epoch']}, not epoch {epoch}")
        source = read_snapshot(ckpt_path.parent, epoch)
    has_ema = source.get("ema") is not None
    if weights == "ema" and not has_ema:
        raise CheckpointError(f"'{ckpt_path}' kept no EMA weights (its configuration has no ema_decay)")
    use = "ema" if has_ema and weights != "raw" else "raw"
    try:
        config = TrainConfig.from_dict(state["config"])
        model = config.make_network()
        model.load_state_dict(source[use if use == "ema" else "model"])
        process = config.make_process()
        process.load_state_dict(state.get("process", {}))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"'{ckpt_path}' does not match this library: {exc}") from None
    model.eval()
    return Loaded(model, process, config, state["history"], source["epoch"], ckpt_path, use)
