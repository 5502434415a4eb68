"""Time to quality: train a configuration for a wall-clock budget, then score its samples.

:func:`train_for_minutes` trains a named configuration (or a :class:`~lib.configs.TrainConfig`) until
its training steps have taken ``minutes`` in all, resumably: called again on the same folder with a
larger budget, it goes on where the last call stopped. :func:`quality` draws ``n`` samples from the
result (its EMA weights when it kept them) with one fixed seed and scores them with the book's
classifier (chapter 2): FID, KID, IS, precision and recall against the MNIST test set, beside the
same scores of ``n`` held-out validation digits, the floor a perfect generator would reach at that n.
``python -m lib.bench --quality MINUTES CONFIG`` runs both and prints the result as one JSON line.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import replace
from pathlib import Path

import torch

from .checkpoints import CHECKPOINT_NAME, read_checkpoint, resolve_checkpoint_path
from .classifier import LoadedClassifier, check_scorable, load_classifier
from .configs import TrainConfig, get_config
from .compare import real_floor
from .data import to_uint8
from .metrics import score
from .runs import load_trained
from .sampler_sweep import sampler_step
from .sampling import sample_images
from .training import train

#: Epochs are not the limit of a timed run: the budget in minutes is.
MANY_EPOCHS = 10_000


def train_for_minutes(config: str | TrainConfig, minutes: float, out_dir: str | os.PathLike,
                      data_root: str | os.PathLike | None = None, device: str = "cpu", progress: bool = True,
                      train_limit: int | None = None, log=print) -> Path:
    """Train ``config`` in ``out_dir`` until its training steps have taken ``minutes`` (validation and
    sample grids are not counted); resume the run already there, if any. Returns the checkpoint path."""
    if not (isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0):
        raise ValueError(f"minutes must be a positive number, got {minutes!r}")
    cfg = get_config(config) if isinstance(config, str) else config
    changes = dict(minutes=float(minutes), epochs=MANY_EPOCHS, sample_epochs=(), metric_epochs=(), snapshot_epochs=())
    if train_limit is not None:
        changes.update(train_limit=train_limit, val_limit=max(1, min(512, train_limit // 4)))
    cfg = replace(cfg, **changes)
    out_dir = Path(out_dir)
    resume = (out_dir / CHECKPOINT_NAME).exists()
    if resume:
        stored = read_checkpoint(out_dir / CHECKPOINT_NAME)["config"].get("minutes")
        if stored is None or stored > minutes:
            raise ValueError(f"the run in '{out_dir}' was trained {'without a time budget' if stored is None else f'for {stored:g} minutes'}, "
                             f"not up to {minutes:g}: its scores would not be those of a {minutes:g}-minute run; "
                             f"choose another folder")
    train(cfg, out_dir, resume=resume, data_root=data_root, device=device, progress=progress, log=log)
    return out_dir / CHECKPOINT_NAME


def _epochs_done(state: dict) -> float:
    """Epochs a checkpoint has trained, with the finished part of an epoch a time budget interrupted
    (its batch counter over the batches of its permutation of the training set)."""
    partial = state.get("partial")
    if partial is None:
        return float(state["epoch"])
    batches = math.ceil(len(partial["perm"]) / state["config"]["batch_size"])
    return state["epoch"] + partial["batch"] / batches


def quality(checkpoint: str | os.PathLike, n: int = 1000, seed: int = 0, steps: int | None = None,
            step: str | None = None, classifier: LoadedClassifier | None = None,
            data_root: str | os.PathLike | None = None, progress: bool = True,
            guidance: float | None = None) -> dict:
    """Scores of ``n`` samples of the run at ``checkpoint`` (sampler ``step``/``steps``: the process's
    default over all T steps unless given; ``step`` is a sampler step such as "ddim" or a sampler of
    :data:`lib.sampler_sweep.SAMPLERS` such as "ddpm-posterior") and of ``n`` validation digits, with
    the classifier's features; plus the run's training minutes and epochs and the sampling time.

    A class-conditional run is asked for the digits 0, 1, ..., 9, 0, ... in turn (``n / 10`` of each,
    the samples :func:`lib.guidance.guidance_sweep` draws at the same weight and seed) at guidance weight
    ``guidance`` (default 1: the plain conditional model, no guidance); the result adds ``guidance``
    and ``accuracy``, the share the classifier reads as the digit asked for."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (FID needs at least two samples), got {n!r}")
    run = load_trained(checkpoint)
    check_scorable(run.config.dataset, "quality")
    conditional = run.config.num_classes is not None
    if guidance is not None and not conditional:
        raise ValueError(f"a guidance weight needs a class-conditional run; '{checkpoint}' was trained "
                         f"without labels (leave the weight out)")
    if conditional:
        from .guidance import check_weights, requested_labels

        guidance = check_weights([1.0 if guidance is None else guidance])[0]
        labels = requested_labels(n, run.config.num_classes)
        conditioning = dict(label=labels, guidance=guidance, precision="fp32")
    else:
        conditioning = {}
    reading = {}  # a conditional run's guidance weight and accuracy
    classifier = classifier or load_classifier()
    step_name, step_options = sampler_step(step)
    # the floor first: the first n validation digits, scored with the samples' seed (a data set too
    # small for it fails here, before minutes of sampling)
    real = real_floor(n, 1, classifier, data_root=data_root, first_seed=seed)[0]
    t0 = time.perf_counter()
    images = sample_images(run.model, run.process, n, torch.Generator().manual_seed(seed),
                           image_shape=run.config.image_shape, step=step_name, steps=steps, progress=progress,
                           **conditioning, **step_options)
    sample_s = time.perf_counter() - t0
    images = to_uint8(images)
    fake = score(images, classifier, data_root=data_root, seed=seed)
    if conditional:
        from .metrics import read_digits

        reading = {"guidance": guidance, "accuracy": float((read_digits(images, classifier) == labels).float().mean())}
    state = read_checkpoint(resolve_checkpoint_path(checkpoint))
    steps_done = state.get("step", len(run.history.get("iter_loss", [])))
    return {
        "config": run.config.name, "network": run.config.network, "weights": run.weights,
        "train_minutes": round(state.get("train_seconds", sum(run.history["epoch_seconds"])) / 60, 2),
        "epochs": round(_epochs_done(state), 2),
        "steps": steps_done,
        "n": n, "sampler": step or "default", "sample_steps": steps or run.process.T,
        "sample_seconds": round(sample_s, 1), "threads": torch.get_num_threads(),
        **{k: fake[k] for k in ("fid", "kid", "is", "precision", "recall")},
        "fid_real": real["fid"], "fid_over_real": fake["fid"] / real["fid"],
        **reading,
    }


#: Fields every line of a time-to-quality results file holds (what ``python -m lib.bench --quality`` prints).
RESULT_FIELDS = ("config", "network", "budget_minutes", "train_minutes", "epochs", "steps", "n", "sample_steps",
                 "sample_seconds", "fid", "kid", "is", "precision", "recall", "fid_real")


def read_results(path: str | os.PathLike) -> list[dict]:
    """The lines of a time-to-quality results file (one JSON object per line, as ``python -m lib.bench
    --quality`` prints them and ``scripts/time_to_quality.sh`` appends them), sorted by configuration and
    budget; a clear error for a missing file or a line that is not such a result."""
    import json

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise FileNotFoundError(f"no time-to-quality results at '{path}'; write them with "
                                f"bash scripts/time_to_quality.sh") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ValueError(f"'{path}' line {number} is not JSON (a line cut off by an interrupted write? "
                             f"delete it and rerun the script)") from None
        missing = [f for f in RESULT_FIELDS if not isinstance(row, dict) or f not in row]
        if missing:
            raise ValueError(f"'{path}' line {number} is not a time-to-quality result: it lacks {missing}")
        rows.append(row)
    return sorted(rows, key=lambda r: (r["config"], r["budget_minutes"]))
