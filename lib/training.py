"""Training: named configurations, the epoch loop, and atomic, exactly resumable checkpoints.

A checkpoint (one ``checkpoint.pt`` per run folder, rewritten after every epoch) holds the model,
the optimiser, the random generator's state, the configuration and the whole history, so
``train(..., resume=True)`` continues bit for bit where a stopped run was.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from . import diffusion
from .checkpoints import (CHECKPOINT_FORMAT, CHECKPOINT_NAME, CHECKPOINT_VERSION, SNAPSHOT_FORMAT,
                          CheckpointError, read_checkpoint, save_checkpoint, snapshot_path)
from .data import load_mnist, to_uint8
from .models import CourseworkCNN
from .precision import resolve_precision
from .schedules import Schedule, make_schedule

@torch.no_grad()
def update_ema(ema_model: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta, parameter by parameter (buffers copied)."""
    ema_p = [p for p in ema_model.parameters()]
    torch._foreach_lerp_(ema_p, [p.detach() for p in model.parameters()], 1.0 - decay)
    for b_ema, b in zip(ema_model.buffers(), model.buffers()):
        b_ema.copy_(b)


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable, or does not match what was asked of it."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. ``epochs`` is the target length of the run."""

    name: str = "default"
    hidden: tuple[int, ...] = (16, 32, 32, 16)
    activation: str = "gelu"
    schedule: str = "linear"
    T: int = 1000
    beta_1: float = 1e-4
    beta_T: float = 0.02
    loss: str = "mse"
    lr: float = 2e-4
    batch_size: int = 128
    epochs: int = 100
    sample_epochs: tuple[int, ...] = (1, 20, 40, 60, 100)
    n_grid: int = 16
    seed: int = 0
    precision: str = "auto"
    train_limit: int | None = None  # use only the first N training images (short mode)
    val_limit: int | None = None
    metric_epochs: tuple[int, ...] = ()  # epochs at which to score samples (FID, IS, ...); off by default
    metric_samples: int = 256  # samples drawn for those scores
    ema_decay: float | None = None  # exponential moving average of the weights (None: off, as in the seeds)
    snapshot_epochs: tuple[int, ...] = ()  # epochs whose weights are kept in the checkpoint

    def __post_init__(self):
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.metric_epochs and self.metric_samples < 2:
            raise ValueError(f"metric_samples must be >= 2 to score samples, got {self.metric_samples}")
        if self.ema_decay is not None and not (0.0 < self.ema_decay < 1.0):
            raise ValueError(f"ema_decay must lie strictly between 0 and 1 (or be None for no EMA), got {self.ema_decay}")
        if any(e < 1 for e in self.snapshot_epochs):
            raise ValueError(f"snapshot_epochs must be positive epoch numbers, got {self.snapshot_epochs}")
        if self.loss not in diffusion.LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose one of {sorted(diffusion.LOSSES)}")
        resolve_precision(self.precision)
        self.make_schedule()  # validates schedule name and parameters

    def make_schedule(self) -> Schedule:
        if self.schedule == "cosine":
            return make_schedule("cosine", self.T)
        return make_schedule(self.schedule, self.T, beta_1=self.beta_1, beta_T=self.beta_T)

    def make_model(self) -> CourseworkCNN:
        return CourseworkCNN(hidden=self.hidden, activation=self.activation)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        for key in ("hidden", "sample_epochs", "metric_epochs", "snapshot_epochs"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)


def _comparison(name: str, **changes) -> TrainConfig:
    """A run of the hyperparameter comparison (chapter 3): the default with ``changes``, trained for
    the comparison's equal budget of 30 epochs, with weights kept every 5 epochs."""
    return TrainConfig(name=name, epochs=30, sample_epochs=(1, 5, 10, 20, 30),
                       snapshot_epochs=(5, 10, 15, 20, 25), **changes)


#: The seeds' runs as named configurations. The book's chapters refer to them by name.
CONFIGS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    # chapter 3: one factor at a time against the default, 30 epochs each, same data order seed.
    # "ema" trains exactly the default (same seed, same steps) and also keeps an EMA of its weights.
    "ema": _comparison("ema", ema_decay=0.999),
    "harder": _comparison("harder", T=100, lr=6e-4, activation="selu"),
    "T100": _comparison("T100", T=100),
    "lr6e-4": _comparison("lr6e-4", lr=6e-4),
    "selu": _comparison("selu", activation="selu"),
    "wide": _comparison("wide", hidden=(16, 32, 64, 32, 16)),
    "linear-T400": _comparison("linear-T400", T=400),
    "quadratic-T400": _comparison("quadratic-T400", T=400, schedule="quadratic"),
    "sigmoid-T400": _comparison("sigmoid-T400", T=400, schedule="sigmoid"),
    "cosine-T400": _comparison("cosine-T400", T=400, schedule="cosine"),
    "l1": _comparison("l1", loss="l1"),
    "smooth_l1": _comparison("smooth_l1", loss="smooth_l1"),
}


#: Fields a resumed run may change: the target length, and what is measured along the way (scoring
#: samples uses its own generator and leaves the training generator and the weights untouched).
OBSERVATION_FIELDS = ("epochs", "metric_epochs", "metric_samples", "snapshot_epochs")


def get_config(name: str, **overrides) -> TrainConfig:
    """A named configuration, with fields replaced by ``overrides``."""
    if name not in CONFIGS:
        raise ValueError(f"unknown configuration {name!r}; choose one of {sorted(CONFIGS)}")
    return dataclasses.replace(CONFIGS[name], **overrides)


def new_history() -> dict:
    return {"iter_loss": [], "epoch": [], "train_loss": [], "val_loss": [], "epoch_seconds": [],
            "grid_epochs": [], "grids": [], "metric_epochs": [], "metrics": [], "precision": None}


@dataclass
class Loaded:
    """A trained model ready to use: ``model`` (eval mode), its ``schedule``, ``config`` and ``history``."""

    model: CourseworkCNN
    schedule: Schedule
    config: TrainConfig
    history: dict
    epoch: int
    path: Path


def load_trained(path: str | os.PathLike) -> Loaded:
    """Load a checkpoint written by :func:`train` for sampling or plotting."""
    state = read_checkpoint(path)
    try:
        config = TrainConfig.from_dict(state["config"])
        model = config.make_model()
        model.load_state_dict(state["model"])
    except (TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"'{path}' does not match this library's model: {exc}") from None
    model.eval()
    return Loaded(model, config.make_schedule(), config, state["history"], state["epoch"], Path(path))


# ----------------------------------------------------------------------------- training loop

@torch.no_grad()
def validation_loss(model, schedule, images, config, precision, device) -> float:
    """Mean loss on ``images`` with a fixed generator, so values are comparable across epochs."""
    g = torch.Generator().manual_seed(config.seed + 1)
    model.eval()
    total, n = 0.0, 0
    for start in range(0, images.shape[0], 512):
        x0 = images[start:start + 512].to(device)
        total += float(diffusion.training_loss(model, schedule, x0, g, config.loss, precision)) * x0.shape[0]
        n += x0.shape[0]
    model.train()
    return total / n


def sample_grid(model, schedule, config, precision, device) -> torch.Tensor:
    """``n_grid`` samples from a fixed seed (the same noise at every epoch), as uint8 (N, 28, 28)."""
    g = torch.Generator().manual_seed(config.seed + 2)
    res = diffusion.sample(model, schedule, (config.n_grid, 1, 28, 28), g, precision=precision, device=device)
    return to_uint8(res.images)[:, 0]


def sample_metrics(model, schedule, config, precision, device, classifier, data_root) -> dict:
    """Score ``metric_samples`` fresh samples (a fixed seed) with :func:`lib.metrics.score`."""
    from .metrics import score

    g = torch.Generator().manual_seed(config.seed + 3)
    images = diffusion.sample_images(model, schedule, config.metric_samples, g, precision=precision, device=device)
    return score(to_uint8(images), classifier, data_root=data_root)


def train(
    config: TrainConfig,
    out_dir: str | os.PathLike,
    resume: bool = False,
    data_root: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    stop_after_epoch: int | None = None,
    log: Callable[[str], None] = print,
    classifier_path: str | os.PathLike | None = None,
) -> dict:
    """Train ``config`` into ``out_dir``; return the history.

    With ``resume=True`` the run continues from ``out_dir/checkpoint.pt``; the configuration must
    match the stored one except for :data:`OBSERVATION_FIELDS` (``epochs`` may be raised to extend a
    run, and the epochs at which samples are scored may change). Without it, an existing checkpoint is
    an error, so a finished run is never overwritten by accident. ``stop_after_epoch`` ends this
    call early (the checkpoint is still written), used to test exact resumption.
    """
    device = torch.device(device)
    out_dir = Path(out_dir)
    ckpt_path = out_dir / CHECKPOINT_NAME
    state = None
    if resume:
        if not ckpt_path.exists():
            raise CheckpointError(f"--resume given but there is no checkpoint at '{ckpt_path}'")
        state = read_checkpoint(ckpt_path)
        stored = TrainConfig.from_dict(state["config"])
        differ = [f.name for f in dataclasses.fields(TrainConfig)
                  if f.name not in OBSERVATION_FIELDS and getattr(stored, f.name) != getattr(config, f.name)]
        if differ:
            detail = ", ".join(f"{k}: stored {getattr(stored, k)!r}, given {getattr(config, k)!r}" for k in differ)
            raise CheckpointError(f"cannot resume '{ckpt_path}' with a different configuration ({detail})")
        if state["epoch"] >= config.epochs:
            log(f"'{ckpt_path}' already holds {state['epoch']} epochs (target {config.epochs}); nothing to do")
    elif ckpt_path.exists():
        raise CheckpointError(f"'{ckpt_path}' already exists; pass resume=True (--resume) to continue it "
                              f"or choose another output folder")

    classifier = None
    if config.metric_epochs:  # load it now, so a missing classifier fails before hours of training
        from .classifier import load_classifier

        classifier = load_classifier(classifier_path)
    precision = resolve_precision(config.precision, device)
    schedule = config.make_schedule()
    train_set = load_mnist("train", root=data_root, limit=config.train_limit)
    val_set = load_mnist("val", root=data_root, limit=config.val_limit)
    train_images = train_set.images.to(device)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = config.make_model().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    history = new_history()
    history["precision"] = precision
    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["rng"]["generator"])
        history = state["history"]
        start_epoch = state["epoch"]
        if history.get("precision") not in (None, precision):
            log(f"note: resuming a {history['precision']} run with precision {precision}")
        log(f"resuming '{config.name}' from epoch {start_epoch} of {config.epochs}")

    ema_model = None
    if config.ema_decay is not None:
        ema_model = copy.deepcopy(model).eval().requires_grad_(False)
        if state is not None:
            ema_model.load_state_dict(state["ema"])
    n = train_images.shape[0]
    n_batches = math.ceil(n / config.batch_size)
    model.train()
    for epoch in range(start_epoch + 1, config.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=generator)
        losses = []
        bar = tqdm(range(n_batches), desc=f"{config.name} epoch {epoch}/{config.epochs}",
                   disable=not progress, leave=False)
        for b in bar:
            idx = perm[b * config.batch_size:(b + 1) * config.batch_size].to(device)
            loss = diffusion.training_loss(model, schedule, train_images[idx], generator, config.loss, precision)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ema_model is not None:
                update_ema(ema_model, model, config.ema_decay)
            losses.append(loss.item())
            if b % 20 == 0:
                bar.set_postfix(loss=f"{losses[-1]:.4f}")
        bar.close()
        history["iter_loss"].extend(losses)
        history["epoch"].append(epoch)
        history["train_loss"].append(sum(losses) / len(losses))
        history["val_loss"].append(validation_loss(model, schedule, val_set.images, config, precision, device))
        if ema_model is not None:
            history.setdefault("val_loss_ema", []).append(
                validation_loss(ema_model, schedule, val_set.images, config, precision, device))
        if epoch in config.sample_epochs or epoch == config.epochs:
            history["grid_epochs"].append(epoch)
            history["grids"].append(sample_grid(model, schedule, config, precision, device))
            if ema_model is not None:
                history.setdefault("grids_ema", []).append(sample_grid(ema_model, schedule, config, precision, device))
        history["epoch_seconds"].append(time.perf_counter() - t0)
        if epoch in config.metric_epochs:  # timed separately: scoring is not training time
            history.setdefault("metric_epochs", []).append(epoch)
            history.setdefault("metrics", []).append(
                sample_metrics(model, schedule, config, precision, device, classifier, data_root))
        if epoch in config.snapshot_epochs and epoch != config.epochs:  # written once, never rewritten
            save_checkpoint(snapshot_path(out_dir, epoch), {
                "format": SNAPSHOT_FORMAT, "version": CHECKPOINT_VERSION, "config": config.to_dict(),
                "epoch": epoch, "model": model.state_dict(),
                "ema": ema_model.state_dict() if ema_model is not None else None})
        ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": config.to_dict(),
                "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "rng": {"generator": generator.get_state()}, "history": history}
        if ema_model is not None:
            ckpt["ema"] = ema_model.state_dict()
        save_checkpoint(ckpt_path, ckpt)
        scores = (f", FID {history['metrics'][-1]['fid']:.2f}, IS {history['metrics'][-1]['is']:.2f}"
                  if epoch in config.metric_epochs else "")
        log(f"epoch {epoch}/{config.epochs}: train {history['train_loss'][-1]:.4f}, "
            f"val {history['val_loss'][-1]:.4f}{scores}, {history['epoch_seconds'][-1]:.0f} s -> {ckpt_path}")
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
    return history
