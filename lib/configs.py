"""Training configurations: what defines a run, the book's named runs, and users' own TOML files.

A :class:`TrainConfig` names its data set, its network, its forward process and everything training
needs; it builds them (:meth:`TrainConfig.make_network`, :meth:`TrainConfig.make_process`) and rejects a
mistake with one clear message when it is created. The chapters refer to the runs of
:data:`CONFIGS` by name; ``python -m lib.train my-run.toml`` trains a :func:`load_config_file`.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .classifier import check_scorable
from .data import DATASETS, dataset_info
from .degradations import Average, Blur, ColdProcess, Downsample
from .diffusion import GaussianDiffusion
from .networks import NETWORKS, build_network
from .precision import resolve_precision
from .processes import LOSSES, ForwardProcess
from .schedules import Schedule, make_schedule


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run. ``epochs`` (and ``minutes``, if set) bound its length."""

    name: str = "default"
    dataset: str = "mnist"  # the data: a key of lib.data.DATASETS (its channels are the network's)
    # the network, called as network(x_t, t / T, label)
    network: str = "cnn"
    hidden: tuple[int, ...] = (16, 32, 32, 16)  # channel widths (per layer for the CNN, per level for U-Nets)
    activation: str = "gelu"
    network_options: dict = field(default_factory=dict)  # further constructor arguments of the network
    num_classes: int | None = None  # a label embedding with a "no label" entry (None: unconditional)
    label_dropout: float = 0.0  # fraction of training images shown without their label (classifier-free guidance)
    # weight of a classifier ("discriminator") term: the book's frozen MNIST classifier reads the clean image
    # the network implies, x0_hat, and its cross-entropy against the label is added to the loss (labelled images)
    classifier_loss: float = 0.0
    # the forward process
    process: str = "gaussian"
    schedule: str = "linear"
    T: int = 1000
    beta_1: float = 1e-4
    beta_T: float = 0.02
    process_options: dict = field(default_factory=dict)  # parameters of a cold degradation
    # the side of the square images; None: the data set's own (MNIST 28, CIFAR-10 32, FGVC-Aircraft 32). MNIST at
    # another size is resized the Cold Diffusion authors' way (lib.data), FGVC-Aircraft's photos are cut to any
    # size, Fashion-MNIST and CIFAR-10 are used at their own size only
    image_size: int | None = None
    # the objective and the optimiser
    loss: str = "mse"
    lr: float = 2e-4
    batch_size: int = 128
    ema_decay: float | None = None  # exponential moving average of the weights (None: off, as in the seeds)
    ema_warmup: bool = False  # decay min(ema_decay, (1 + n) / (10 + n)) at step n (lib.ema.warmup_decay)
    seed: int = 0
    precision: str = "auto"
    # length of the run
    epochs: int = 100
    minutes: float | None = None  # wall-clock budget of training steps, summed over resumed calls
    train_limit: int | None = None  # use only the first N training images (short mode)
    val_limit: int | None = None
    # what is recorded along the way (changes nothing in training)
    sample_epochs: tuple[int, ...] = (1, 20, 40, 60, 100)
    n_grid: int = 16
    metric_epochs: tuple[int, ...] = ()  # epochs at which to score samples (FID, IS, ...); off by default
    metric_samples: int = 256  # samples drawn for those scores
    snapshot_epochs: tuple[int, ...] = ()  # epochs whose weights are kept in RUN/snapshots/

    def __post_init__(self):
        errors = _type_errors(self)
        if errors:
            raise ValueError("; ".join(errors))
        data = dataset_info(self.dataset)
        if self.image_size is None:  # frozen: set once, here, as the field's documented default
            object.__setattr__(self, "image_size", data.image_size)
        data.check_size(self.image_size)
        if self.metric_epochs:
            check_scorable(self.dataset, "metric_epochs")
        if self.classifier_loss:
            check_scorable(self.dataset, "classifier_loss")
        checks = [
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.lr > 0 and math.isfinite(self.lr), f"lr must be a positive number, got {self.lr}"),
            (self.minutes is None or self.minutes > 0, f"minutes must be positive, got {self.minutes}"),
            (self.ema_decay is None or 0.0 < self.ema_decay < 1.0,
             f"ema_decay must lie strictly between 0 and 1 (or be absent for no EMA), got {self.ema_decay}"),
            (not self.ema_warmup or self.ema_decay is not None, "ema_warmup needs an ema_decay to warm up to"),
            (all(e >= 1 for e in (*self.snapshot_epochs, *self.sample_epochs, *self.metric_epochs)),
             "sample_epochs, metric_epochs and snapshot_epochs must be positive epoch numbers"),
            (not self.metric_epochs or self.metric_samples >= 2,
             f"metric_samples must be >= 2 to score samples, got {self.metric_samples}"),
            (self.n_grid >= 1, f"n_grid must be >= 1, got {self.n_grid}"),
            (self.loss in LOSSES, f"unknown loss {self.loss!r}; choose one of {sorted(LOSSES)}"),
            (self.num_classes is None or self.num_classes == data.num_classes,
             f"num_classes must be {data.num_classes}, the classes of {self.dataset} (or absent: unconditional), "
             f"got {self.num_classes}"),
            (0.0 <= self.label_dropout < 1.0, f"label_dropout must lie in [0, 1), got {self.label_dropout}"),
            (self.label_dropout == 0.0 or self.num_classes is not None,
             "label_dropout needs a conditional network (set num_classes)"),
            (self.classifier_loss >= 0.0 and math.isfinite(self.classifier_loss),
             f"classifier_loss must be a weight >= 0, got {self.classifier_loss}"),
            (self.classifier_loss == 0.0 or self.num_classes == 10,
             "classifier_loss needs a conditional network with the classifier's 10 digits (num_classes = 10)"),
            (not set(self.network_options) & {"hidden", "activation", "num_classes", "channels"},
             "hidden, activation and num_classes are top-level keys and channels is the data set's, not "
             "network_options"),
            (self.network in NETWORKS, f"unknown network {self.network!r}; choose one of {sorted(NETWORKS)}"),
            (self.process in PROCESSES, f"unknown process {self.process!r}; choose one of {sorted(PROCESSES)}"),
            (self.train_limit is None or self.train_limit >= 1, f"train_limit must be >= 1, got {self.train_limit}"),
            (self.val_limit is None or self.val_limit >= 1, f"val_limit must be >= 1, got {self.val_limit}"),
            (8 <= self.image_size <= 256, f"image_size must lie in 8..256 pixels, got {self.image_size}"),
            (not self.metric_epochs or self.image_size == 28,
             f"metric_epochs needs 28-pixel images (the book's classifier reads MNIST's size), got image_size "
             f"{self.image_size}"),
            (not set(self.network_options) & {"image_size"}, "image_size is a top-level key, not a network_option"),
        ]
        errors = [message for ok, message in checks if not ok]
        if errors:
            raise ValueError("; ".join(errors))
        resolve_precision(self.precision)
        self.make_process()  # validates the process and its parameters
        with torch.device("meta"):  # validates the network's options without allocating its weights
            self.make_network()

    def make_schedule(self) -> Schedule:
        if self.schedule == "cosine":
            return make_schedule("cosine", self.T)
        return make_schedule(self.schedule, self.T, beta_1=self.beta_1, beta_T=self.beta_T)

    def make_process(self) -> ForwardProcess:
        return PROCESSES[self.process](self)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(channels, image_size, image_size): the shape of one image the network sees."""
        return DATASETS[self.dataset].channels, self.image_size, self.image_size

    def make_network(self) -> torch.nn.Module:
        sized = "image_size" in inspect.signature(NETWORKS[self.network]).parameters
        return build_network(self.network, hidden=self.hidden, activation=self.activation,
                             num_classes=self.num_classes, channels=self.image_shape[0],
                             **({"image_size": self.image_size} if sized else {}), **self.network_options)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        """The inverse of :meth:`to_dict`; also reads configurations stored by older versions of the
        library (fields added since then take their defaults)."""
        unknown = sorted(set(d) - FIELDS)
        if unknown:
            raise ValueError(f"unknown configuration key(s) {unknown}")
        d = dict(d)
        for key in TUPLE_FIELDS:
            if isinstance(d.get(key), list):
                d[key] = tuple(d[key])
        return cls(**d)


def _gaussian(config: TrainConfig) -> ForwardProcess:
    if config.process_options:
        raise ValueError(f"the gaussian process takes no process_options (its schedule is set by schedule, T, "
                         f"beta_1 and beta_T), got {sorted(config.process_options)}")
    return GaussianDiffusion(config.make_schedule())


def _cold_process(cls: type[ColdProcess]):
    """The builder of a cold degradation: T and image_size from the configuration, the rest from
    ``process_options`` (the keyword arguments of ``cls`` and of :class:`ColdProcess`)."""
    accepted = sorted((set(inspect.signature(cls).parameters) | set(inspect.signature(ColdProcess).parameters))
                      - {"T", "image_size", "options"})

    def build(config: TrainConfig) -> ForwardProcess:
        unknown = sorted(set(config.process_options) - set(accepted))
        if unknown:
            raise ValueError(f"process {config.process!r} takes no option(s) {unknown}; its process_options are "
                             f"{', '.join(accepted)}")
        return cls(config.T, image_size=config.image_size, **config.process_options)

    build.accepted = accepted
    return build


#: Forward processes by name; each builds itself from a configuration.
PROCESSES = {"gaussian": _gaussian, "blur": _cold_process(Blur), "average": _cold_process(Average),
             "downsample": _cold_process(Downsample)}

FIELDS = frozenset(f.name for f in dataclasses.fields(TrainConfig))
TUPLE_FIELDS = ("hidden", "sample_epochs", "metric_epochs", "snapshot_epochs")
#: Fields a resumed run may change: its length, and what is measured along the way (scoring and
#: snapshots use their own generators and leave the training generator and the weights untouched).
OBSERVATION_FIELDS = ("epochs", "minutes", "metric_epochs", "metric_samples", "snapshot_epochs")


def _type_errors(config: TrainConfig) -> list[str]:
    """One message per field whose value has the wrong type (TOML files and keyword arguments)."""
    hints = typing.get_type_hints(TrainConfig)
    errors = []
    for f in dataclasses.fields(config):
        value, hint = getattr(config, f.name), hints[f.name]
        args = typing.get_args(hint)
        optional = isinstance(hint, types.UnionType) and type(None) in args
        base = next((a for a in args if a is not type(None)), hint) if optional else hint
        if value is None and optional:
            continue
        origin = typing.get_origin(base) or base
        if origin is tuple:
            ok = isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            want = "a list of integers"
        elif base is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            want = "a number"
        elif base is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            want = "an integer"
        else:
            ok = isinstance(value, origin)
            want = {str: "a string", dict: "a table"}.get(origin, origin.__name__)
        if not ok:
            errors.append(f"{f.name} must be {want}{' (or absent)' if optional else ''}, got {value!r}")
    return errors


def _comparison(name: str, **changes) -> TrainConfig:
    """A run of the hyperparameter comparison (chapter 3): the default with ``changes``, trained for
    the comparison's equal budget of 30 epochs, with weights kept every 5 epochs, in fp32 (the
    precision every machine runs at full speed, so that all runs of the comparison share it)."""
    return TrainConfig(name=name, epochs=30, sample_epochs=(1, 5, 10, 20, 30), precision="fp32",
                       snapshot_epochs=(5, 10, 15, 20, 25), **changes)


#: The paper's MNIST blur (Bansal et al. 2022, the authors' code): an 11 x 11 kernel of std 7 at every step,
#: circular padding.
PAPER_BLUR = {"kernel_size": 11, "std": 7.0, "padding": "circular"}


def _cold(name: str, process: str, T: int, **changes) -> TrainConfig:
    """A run of the cold-diffusion chapter (4): the coursework CNN trained as a restoration R(x_t, t)
    that predicts x0 with L1 (the paper's loss), EMA weights, fp32, 10 epochs (extendable with
    ``--epochs``), weights kept at epochs 2 and 5 (``changes`` may override any of these)."""
    return TrainConfig(**{"name": name, "process": process, "T": T, "loss": "l1", "ema_decay": 0.999, "epochs": 10,
                          "sample_epochs": (1, 2, 5, 10), "precision": "fp32", "snapshot_epochs": (2, 5), **changes})


def _timed(name: str, **changes) -> TrainConfig:
    """A run of chapter 5's time to quality: trained for a budget of minutes (``--minutes``, or
    ``python -m lib.bench --quality MINUTES NAME``), not epochs; EMA with warm-up; fp32."""
    return TrainConfig(name=name, ema_decay=0.999, ema_warmup=True, precision="fp32", epochs=1000,
                       sample_epochs=(), **changes)


def _averaging(axis: str, order: str, group: int) -> TrainConfig:
    return _cold(f"{axis}-{order}" + ("" if group == 4 else f"-{group}"), "average", math.ceil(28 / group),
                 process_options={"axis": axis, "order": order, "group": group})


#: chapter 5's small U-Net as its timed runs train it, and the same with a label embedding (the label
#: dropped for one training image in ten)
_TIMED_UNET = dict(network="unet", hidden=(32, 64, 64), activation="silu", lr=1e-3)
_TIMED_COND_UNET = dict(_TIMED_UNET, num_classes=10, label_dropout=0.1)

#: The book's runs as named configurations. The chapters refer to them by name.
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
    # the ema run again from another seed (other initial weights, data order and noise): how far two
    # trainings of one configuration land apart, the yardstick for the differences between runs
    "seed1": _comparison("seed1", ema_decay=0.999, seed=1),
    # chapter 4: cold diffusion. "blur-paper" is the paper's MNIST degradation (T = 20, 11 x 11, std 7,
    # circular padding, 32 pixels) for Table 1; the others run at MNIST's 28 pixels for generation.
    "blur-paper": _cold("blur-paper", "blur", 20, image_size=32, process_options=dict(PAPER_BLUR)),
    "blur": _cold("blur", "blur", 20, process_options=dict(PAPER_BLUR)),
    # the coursework projects' own blur settings at 28 pixels, T = 20 as in the paper (the authors' MNIST
    # script, whose defaults the 3 x 3 setting is, uses T = 50 by default): 13 x 13 with std 7.0 at every
    # step, and 3 x 3 with std 0.1 growing with the step (0.1 i at step i; a constant std 0.1 would leave
    # a 3 x 3 kernel the identity to float precision)
    "blur-13x13": _cold("blur-13x13", "blur", 20, process_options={"kernel_size": 13, "std": 7.0, "padding": "circular"}),
    "blur-3x3": _cold("blur-3x3", "blur", 20, process_options={"kernel_size": 3, "std": 0.1, "schedule": "incremental",
                                                               "padding": "circular"}),
    # blur-paper with chapter 5's small U-Net in place of the coursework CNN (same data, epochs and loss):
    # how much of Table 1's gap to the paper's U-Net is the network. Final weights only (no snapshots).
    "blur-paper-unet": _cold("blur-paper-unet", "blur", 20, image_size=32, network="unet", hidden=(32, 64, 64),
                             activation="silu", lr=1e-3, snapshot_epochs=(), process_options=dict(PAPER_BLUR)),
    **{c.name: c for c in (_averaging("rows", "random", 4), _averaging("rows", "outside-in", 4),
                           _averaging("rows", "inside-out", 4), _averaging("columns", "random", 4),
                           _averaging("rows", "random", 1))},
    "downsample": _cold("downsample", "downsample", 24),
    # chapter 5: a small U-Net (28 -> 14 -> 7, residual blocks, GroupNorm) sampled from EMA weights
    "unet": TrainConfig(name="unet", network="unet", hidden=(32, 64, 64), activation="silu", lr=1e-3,
                        ema_decay=0.999, epochs=20, sample_epochs=(1, 5, 10, 20)),
    # chapter 5's time to quality: four networks trained for equal minutes (python -m lib.bench --quality),
    # each with its own learning rate, all with a warmed-up EMA (a cold one lags a short run) and fp32
    **{c.name: c for c in (
        _timed("quality-cnn", network="cnn"),
        _timed("quality-unet", **_TIMED_UNET),
        _timed("quality-autoencoder", network="autoencoder", hidden=(32, 64), lr=1e-3),
        _timed("quality-vae", network="vae", hidden=(32, 64), lr=1e-3))},
    # chapter 5's conditioning: the time-to-quality U-Net with a label embedding, each training image shown
    # without its label one time in ten (classifier-free guidance, Ho & Salimans 2022: p_uncond 0.1)
    "cond-unet": _timed("cond-unet", **_TIMED_COND_UNET),
    # the same two U-Nets in batches of 32 instead of 128: four times the optimiser steps per training image
    # (at one thread the benchmark measures the same images a second at either size: results/bench-batch.json);
    # and in batches of 128 again (quality-unet and cond-unet under other names), trained on the machine of the
    # batch-32 runs, in the same way, so that the batch's effect is measured apart from the machine's (the
    # shipped quality-unet and cond-unet ran on a machine that trains this U-Net about a third as fast per
    # thread: results/bench.json against results/bench-batch.json)
    **{f"{base}-b{batch}": _timed(f"{base}-b{batch}", **fields, batch_size=batch)
       for base, fields in (("quality-unet", _TIMED_UNET), ("cond-unet", _TIMED_COND_UNET)) for batch in (32, 128)},
    # ... and with the seed's "discriminator": the frozen book classifier's cross-entropy on x0_hat, weighted
    # 0.01 so that the term (about 2.3 for a guess) starts near the noise loss (about 0.03 after a few minutes)
    "cond-unet-classifier": _timed("cond-unet-classifier", **_TIMED_COND_UNET, classifier_loss=0.01),
}


def derive(base: TrainConfig, **changes) -> TrainConfig:
    """``base`` with fields replaced by ``changes``. A run moved to another data set without an
    ``image_size`` of its own takes that data set's native size, not the size ``base`` had."""
    dataset = changes.get("dataset", base.dataset)
    if dataset != base.dataset and "image_size" not in changes:
        changes["image_size"] = None
    return dataclasses.replace(base, **changes)


def get_config(name: str, **overrides) -> TrainConfig:
    """A named configuration, with fields replaced by ``overrides`` (see :func:`derive`)."""
    if name not in CONFIGS:
        raise ValueError(f"unknown configuration {name!r}; choose one of {sorted(CONFIGS)}"
                         " (or give the path of a .toml file)")
    unknown = sorted(set(overrides) - FIELDS)
    if unknown:
        raise ValueError(f"unknown configuration key(s) {unknown}")
    return derive(CONFIGS[name], **overrides)


def load_config_file(path: str | os.PathLike, **overrides) -> TrainConfig:
    """Read a configuration from a TOML file: top-level keys are :class:`TrainConfig` fields, plus an
    optional ``base = "NAME"`` naming the configuration to start from (default ``"default"``);
    ``network_options`` and ``process_options`` are tables. ``name`` defaults to the file's stem.
    Every mistake is reported in one ValueError that names the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no configuration file at '{path.resolve()}'")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    base = data.pop("base", "default")
    errors = []
    if base not in CONFIGS:
        errors.append(f"base {base!r} is not a named configuration; choose one of {sorted(CONFIGS)}")
    for key in sorted(set(data) - FIELDS):
        close = difflib.get_close_matches(key, sorted(FIELDS), n=1, cutoff=0.4)
        errors.append(f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    if errors:
        raise ValueError(f"{path}: " + "; ".join(errors))
    data.setdefault("name", path.stem)
    for key in TUPLE_FIELDS:
        if isinstance(data.get(key), list):
            data[key] = tuple(data[key])
    try:
        return derive(CONFIGS[base], **{**data, **overrides})
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
