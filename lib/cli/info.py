"""Describe a checkpoint in one JSON line: ``python -m lib.info CHECKPOINT``.

Prints the configuration, the epochs done of those planned (and whether the run stopped mid-epoch on
a time budget), the training steps and seconds, the precision, whether EMA weights are present, the
epochs kept as snapshots, the final losses and the scores recorded in its history.
"""
from __future__ import annotations

import json
import math

from .. import cli
from ..checkpoints import read_checkpoint, resolve_checkpoint_path
from ..configs import TrainConfig


def describe(path) -> dict:
    """The facts :func:`main` prints, as a dict."""
    ckpt_path = resolve_checkpoint_path(path)
    state = read_checkpoint(ckpt_path)
    config = TrainConfig.from_dict(state["config"])
    h = state["history"]
    snapshots = sorted(int(p.stem.split("-")[1]) for p in (ckpt_path.parent / "snapshots").glob("epoch-*.pt"))
    train_seconds = state.get("train_seconds")
    return {
        "checkpoint": str(ckpt_path),
        "name": config.name,
        "epochs_done": state["epoch"],
        "epochs_planned": config.epochs,
        "minutes_planned": config.minutes,
        "mid_epoch": "partial" in state,
        "steps": state.get("step", state["epoch"] * math.ceil((config.train_limit or 55000) / config.batch_size)),
        "train_seconds": round(train_seconds if train_seconds is not None else sum(h["epoch_seconds"]), 1),
        "precision": h.get("precision"),
        "ema": state.get("ema") is not None,
        "snapshot_epochs": snapshots,
        "final_train_loss": h["train_loss"][-1] if h["train_loss"] else None,
        "final_val_loss": h["val_loss"][-1] if h["val_loss"] else None,
        "scores": [{"epoch": e, **m} for e, m in zip(h.get("metric_epochs", []), h.get("metrics", []))],
        "config": config.to_dict(),
    }


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.info", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help="a checkpoint.pt (or its run folder)")
    a = p.parse_args(argv)
    print(json.dumps(describe(a.checkpoint)))
    return 0
