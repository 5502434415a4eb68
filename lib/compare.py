"""Comparing trained runs (chapter 3): what each configuration changes, which runs are trained, and
their histories side by side at matched epochs."""
from __future__ import annotations

import os
from pathlib import Path

from .checkpoints import CheckpointError, read_checkpoint
from .configs import CONFIGS, OBSERVATION_FIELDS, TrainConfig

#: Fields that describe how a run is recorded or named, not what it trains.
RECORD_FIELDS = ("name", "sample_epochs", "n_grid", "snapshot_epochs", *OBSERVATION_FIELDS)


def config_changes(config: TrainConfig, base: TrainConfig | None = None) -> dict:
    """The fields of ``config`` that differ from ``base`` (default: the "default" configuration),
    leaving out naming and recording fields: {field: (base value, value)}."""
    base = base or CONFIGS["default"]
    a, b = base.to_dict(), config.to_dict()
    return {k: (a[k], b[k]) for k in b if k not in RECORD_FIELDS and a[k] != b[k]}


def run_status(names, root: str | os.PathLike) -> dict[str, dict]:
    """For each run name: the epochs trained so far and planned, read from ``root/<name>/checkpoint.pt``
    (0 trained when there is no checkpoint yet), and ``devices``, where each stretch of it was trained
    (the history's record; empty for runs trained before it was kept). A checkpoint that cannot be read
    is reported, not hidden."""
    status = {}
    for name in names:
        path = Path(root) / name / "checkpoint.pt"
        planned = CONFIGS[name].epochs if name in CONFIGS else None
        if not path.exists():
            status[name] = {"trained": 0, "planned": planned, "path": path, "error": None, "devices": []}
            continue
        try:
            state = read_checkpoint(path)
            status[name] = {"trained": state["epoch"], "planned": state["config"]["epochs"], "path": path,
                            "error": None, "devices": state["history"].get("devices", [])}
        except CheckpointError as exc:
            status[name] = {"trained": 0, "planned": planned, "path": path, "error": str(exc), "devices": []}
    return status
