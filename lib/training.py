"""The training loop, the same for every network and forward process.

:func:`train` runs Algorithm 1 (:func:`lib.processes.training_loss`) over epochs of the training
split of the configuration's data set and writes ``RUN/checkpoint.pt`` atomically after every epoch. A checkpoint holds the
model, the optimiser, every random generator's state, the EMA weights (if kept) and the whole
history, so ``train(..., resume=True)`` continues bit for bit where a stopped run was. A wall-clock
budget (``minutes``) stops a run at a step boundary with a checkpoint that resumes mid-epoch.

Training time is the sum of the steps' wall times, measured by :class:`StepClock`: a step during
which the process was stopped (``kill -STOP``, Ctrl-Z) counts as long as the step before it, so a
paused run's budget and epoch times hold only the time it computed. (A suspended laptop needs no such
care: Linux's monotonic clock does not advance while the machine sleeps.)
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
import signal
import threading
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from .checkpoints import (CHECKPOINT_FORMAT, CHECKPOINT_NAME, CHECKPOINT_VERSION, SNAPSHOT_FORMAT,
                          CheckpointError, read_checkpoint, save_checkpoint, snapshot_path)
from .configs import OBSERVATION_FIELDS, TrainConfig
from .data import load_dataset, to_image_array, to_uint8
from .ema import ema_copy, update_ema, warmup_decay
from .precision import describe_device, resolve_precision
from .processes import training_loss
from .sampling import sample, sample_images


class StepClock:
    """Wall time of training steps, leaving out any time the process spent stopped.

    A stopped process cannot see SIGSTOP, but it receives SIGCONT when it resumes; a step that saw one
    is counted as long as the last step that did not (zero if there was none), and ``pauses`` counts
    them. Use as a context manager around the loop (it installs the SIGCONT handler in the main thread
    and restores the previous one); ``step()`` returns the seconds since the last call to count."""

    def __init__(self):
        self.pauses, self._resumed, self._last_dt = 0, 0, {}
        self._t = time.perf_counter()
        self._seen = 0
        self._previous, self._installed = None, False

    def _on_cont(self, signum, frame):
        self._resumed += 1
        if callable(self._previous):
            self._previous(signum, frame)

    def __enter__(self):
        self._installed = hasattr(signal, "SIGCONT") and threading.current_thread() is threading.main_thread()
        if self._installed:
            self._previous = signal.signal(signal.SIGCONT, self._on_cont)
        self.start()
        return self

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGCONT, self._previous if self._previous is not None else signal.SIG_DFL)
        return False

    def start(self) -> None:
        """Start timing a step."""
        self._t, self._seen = time.perf_counter(), self._resumed

    def step(self, kind: str = "train") -> float:
        """Seconds the step started by :meth:`start` computed for; a stopped step counts as long as the
        last unstopped step of the same ``kind``."""
        dt = time.perf_counter() - self._t
        if self._resumed != self._seen:
            self.pauses += 1
            dt = self._last_dt.get(kind, 0.0)
        else:
            self._last_dt[kind] = dt
        return dt


def new_history() -> dict:
    return {"iter_loss": [], "epoch": [], "train_loss": [], "val_loss": [], "epoch_seconds": [],
            "train_seconds": [], "grid_epochs": [], "grids": [], "metric_epochs": [], "metrics": [],
            "precision": None}


def train_step(model, optimizer, process, x0, generator, loss: str = "mse", precision: str = "fp32",
               label=None, ema_model=None, ema_decay: float | None = None, label_loss=None) -> float:
    """One optimiser step of Algorithm 1 on the batch ``x0`` (then the EMA update); returns the loss
    (with ``label_loss``, :func:`lib.processes.training_loss`'s classifier term, included)."""
    value = training_loss(model, process, x0, generator, loss, precision, label, label_loss)
    optimizer.zero_grad(set_to_none=True)
    value.backward()
    optimizer.step()
    if ema_model is not None:
        update_ema(ema_model, model, ema_decay)
    return value.item()


@torch.no_grad()
def validation_loss(model, process, images, config, precision, device, labels=None) -> float:
    """Mean loss on ``images`` with a fixed generator, so values are comparable across epochs."""
    g = torch.Generator().manual_seed(config.seed + 1)
    was_training = model.training
    model.eval()
    total, n = 0.0, 0
    for start in range(0, images.shape[0], 512):
        x0 = images[start:start + 512].to(device)
        label = None if labels is None else labels[start:start + 512].to(device)
        total += float(training_loss(model, process, x0, g, config.loss, precision, label)) * x0.shape[0]
        n += x0.shape[0]
    model.train(was_training)
    return total / n


def grid_labels(config: TrainConfig) -> torch.Tensor | None:
    """The labels of a conditional run's sample grids: 0, 1, ..., 9, 0, 1, ... (None if unconditional)."""
    return None if config.num_classes is None else torch.arange(config.n_grid) % config.num_classes


def sample_grid(model, process, config, precision, device) -> torch.Tensor:
    """``n_grid`` samples from a fixed seed (the same start at every epoch), as uint8 (N, H, W) for a grey
    data set and (N, H, W, 3) for a colour one (:func:`lib.data.to_image_array`)."""
    g = torch.Generator().manual_seed(config.seed + 2)
    res = sample(model, process, (config.n_grid, *config.image_shape), g, label=grid_labels(config),
                 precision=precision, device=device)
    return to_image_array(res.images)


def sample_metrics(model, process, config, precision, device, classifier, data_root) -> dict:
    """Score ``metric_samples`` fresh samples (a fixed seed) with :func:`lib.metrics.score`."""
    from .metrics import score  # the scoring stack (torchmetrics) loads only when a run scores samples

    g = torch.Generator().manual_seed(config.seed + 3)
    images = sample_images(model, process, config.metric_samples, g, precision=precision, device=device)
    return score(to_uint8(images), classifier, data_root=data_root)


def _check_resumable(state: dict, config: TrainConfig, ckpt_path: Path) -> None:
    stored = TrainConfig.from_dict(state["config"])
    differ = [f.name for f in dataclasses.fields(TrainConfig)
              if f.name not in OBSERVATION_FIELDS and getattr(stored, f.name) != getattr(config, f.name)]
    if differ:
        detail = ", ".join(f"{k}: stored {getattr(stored, k)!r}, given {getattr(config, k)!r}" for k in differ)
        raise CheckpointError(f"cannot resume '{ckpt_path}' with a different configuration ({detail})")


def classifier_label_loss(classifier: torch.nn.Module, weight: float, device: str | torch.device = "cpu"):
    """The classifier ("discriminator") term of a conditional run: ``weight`` times the cross-entropy
    of the frozen ``classifier``'s logits on x0_hat (clamped to the data range [-1, 1]) against the
    label. The classifier is not trained (its parameters get no gradient, its BatchNorm statistics
    stay fixed); the gradient reaches the diffusion network through x0_hat."""
    import copy

    frozen = copy.deepcopy(classifier).to(device).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)

    def label_loss(x0_hat: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return weight * torch.nn.functional.cross_entropy(frozen(x0_hat.clamp(-1.0, 1.0)), label)

    return label_loss


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
    match the stored one except for :data:`lib.configs.OBSERVATION_FIELDS` (``epochs`` and
    ``minutes`` may be raised to extend a run; what is scored or kept may change). Without it, an
    existing checkpoint is an error, so a finished run is never overwritten by accident.
    ``stop_after_epoch`` ends this call early (the checkpoint is still written), used to test exact
    resumption. ``config.minutes`` stops the run once its training steps have taken that many
    minutes in all (validation, grids and scores are not counted), mid-epoch if need be.
    """
    device = torch.device(device)
    out_dir = Path(out_dir)
    ckpt_path = out_dir / CHECKPOINT_NAME
    state = None
    if resume:
        if not ckpt_path.exists():
            raise CheckpointError(f"--resume given but there is no checkpoint at '{ckpt_path.resolve()}'")
        state = read_checkpoint(ckpt_path)
        _check_resumable(state, config, ckpt_path)
    elif ckpt_path.exists():
        raise CheckpointError(f"'{ckpt_path}' already exists; pass resume=True (--resume) to continue it "
                              f"or choose another output folder")

    classifier = None
    if config.metric_epochs or config.classifier_loss:  # load it now: a missing classifier fails before training
        from .classifier import load_classifier

        classifier = load_classifier(classifier_path)
    label_loss = None if not config.classifier_loss else classifier_label_loss(classifier.model, config.classifier_loss, device)
    precision = resolve_precision(config.precision, device)
    process = config.make_process()
    train_set, val_set = (load_dataset(config.dataset, split, root=data_root, limit=limit, image_size=config.image_size)
                          for split, limit in (("train", config.train_limit), ("val", config.val_limit)))
    train_images = train_set.images.to(device)
    conditional = config.num_classes is not None
    train_labels = train_set.labels.to(device) if conditional else None
    val_labels = val_set.labels if conditional else None

    with torch.random.fork_rng(devices=[]):  # the global generator (dropout, a VAE's sampling) is the run's own
        torch.manual_seed(config.seed)
        model = config.make_network().to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        generator = torch.Generator().manual_seed(config.seed)
        history = new_history()
        history["precision"] = precision
        ema_model = ema_copy(model) if config.ema_decay is not None else None
        start_epoch, step, partial = 0, 0, None
        if state is None:
            process.fit(train_images, torch.Generator().manual_seed(config.seed + 4))
        else:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            generator.set_state(state["rng"]["generator"])
            if "torch" in state["rng"]:
                torch.set_rng_state(state["rng"]["torch"])
            if ema_model is not None:
                ema_model.load_state_dict(state["ema"])
            process.load_state_dict(state.get("process", {}))
            history = state["history"]
            history.setdefault("train_seconds", list(itertools.accumulate(history["epoch_seconds"])))
            start_epoch, partial = state["epoch"], state.get("partial")
            step = state.get("step", start_epoch * math.ceil(train_images.shape[0] / config.batch_size))
            if history.get("precision") not in (None, precision):
                log(f"note: resuming a {history['precision']} run with precision {precision}")
            log(f"resuming '{config.name}' from epoch {start_epoch}"
                f"{' (mid-epoch, batch ' + str(partial['batch']) + ')' if partial else ''} of {config.epochs}")
        # where each stretch of the run was trained (a run resumed on another machine lists both)
        where = {"device": describe_device(device), "torch": str(torch.__version__), "from_epoch": start_epoch}
        devices = history.setdefault("devices", [])
        if not devices or (devices[-1].get("device"), devices[-1].get("torch")) != (where["device"], where["torch"]):
            devices.append(where)
        trained_s = state.get("train_seconds", sum(history["epoch_seconds"])) if state is not None else 0.0
        budget_s = None if config.minutes is None else 60.0 * config.minutes
        if start_epoch >= config.epochs or (budget_s is not None and trained_s >= budget_s):
            log(f"'{ckpt_path}' already holds {start_epoch} epochs ({trained_s / 60:.1f} training minutes; "
                f"target {config.epochs} epochs{'' if budget_s is None else f' or {config.minutes} minutes'}); "
                "nothing to do")
            return history

        def checkpoint(epoch: int, partial: dict | None = None) -> None:
            ckpt = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "config": config.to_dict(),
                    "epoch": epoch, "step": step, "train_seconds": trained_s, "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(), "process": process.state_dict(),
                    "rng": {"generator": generator.get_state(), "torch": torch.get_rng_state()},
                    "history": history}
            if ema_model is not None:
                ckpt["ema"] = ema_model.state_dict()
            if partial is not None:
                ckpt["partial"] = partial
            save_checkpoint(ckpt_path, ckpt)

        n = train_images.shape[0]
        n_batches = math.ceil(n / config.batch_size)
        model.train()
        with StepClock() as clock:
            for epoch in range(start_epoch + 1, config.epochs + 1):
                if partial is not None:  # finish the epoch a time budget interrupted
                    perm, first, losses, epoch_s = partial["perm"], partial["batch"], partial["losses"], partial["seconds"]
                    partial = None
                else:
                    perm, first, losses, epoch_s = torch.randperm(n, generator=generator), 0, [], 0.0
                out_of_time = False
                bar = tqdm(range(first, n_batches), desc=f"{config.name} epoch {epoch}/{config.epochs}",
                           disable=not progress, leave=False, initial=first, total=n_batches)
                for b in bar:
                    clock.start()
                    idx = perm[b * config.batch_size:(b + 1) * config.batch_size].to(device)
                    label = None
                    if conditional:
                        label = train_labels[idx]
                        if config.label_dropout > 0:
                            drop = torch.rand(idx.shape[0], generator=generator).to(device) < config.label_dropout
                            label = torch.where(drop, torch.full_like(label, -1), label)
                    decay = config.ema_decay
                    if decay is not None and config.ema_warmup:
                        decay = warmup_decay(decay, step)
                    losses.append(train_step(model, optimizer, process, train_images[idx], generator, config.loss,
                                             precision, label, ema_model, decay, label_loss))
                    step += 1
                    dt = clock.step()
                    epoch_s += dt
                    trained_s += dt
                    if b % 20 == 0:
                        bar.set_postfix(loss=f"{losses[-1]:.4f}")
                    if budget_s is not None and trained_s >= budget_s and b + 1 < n_batches:
                        out_of_time = True
                        break
                bar.close()
                if out_of_time:
                    checkpoint(epoch - 1, {"perm": perm, "batch": b + 1, "losses": losses, "seconds": epoch_s})
                    log(f"time budget of {config.minutes} minutes reached in epoch {epoch} at batch {b + 1} of "
                        f"{n_batches} (step {step}); resumable checkpoint -> {ckpt_path}")
                    break
                history["iter_loss"].extend(losses)
                history["epoch"].append(epoch)
                history["train_loss"].append(sum(losses) / len(losses))
                clock.start()
                history["train_seconds"].append(trained_s)
                history["val_loss"].append(
                    validation_loss(model, process, val_set.images, config, precision, device, val_labels))
                if ema_model is not None:
                    history.setdefault("val_loss_ema", []).append(
                        validation_loss(ema_model, process, val_set.images, config, precision, device, val_labels))
                if epoch in config.sample_epochs or epoch == config.epochs:
                    history["grid_epochs"].append(epoch)
                    history["grids"].append(sample_grid(model, process, config, precision, device))
                    if ema_model is not None:
                        history.setdefault("grids_ema", []).append(
                            sample_grid(ema_model, process, config, precision, device))
                # an epoch's wall time: its training steps, validation and grids (not scoring or snapshots)
                history["epoch_seconds"].append(epoch_s + clock.step("evaluation"))
                if epoch in config.metric_epochs:
                    history["metric_epochs"].append(epoch)
                    history["metrics"].append(sample_metrics(ema_model or model, process, config, precision, device,
                                                             classifier, data_root))
                if epoch in config.snapshot_epochs and epoch != config.epochs:  # written once, never rewritten
                    save_checkpoint(snapshot_path(out_dir, epoch), {
                        "format": SNAPSHOT_FORMAT, "version": CHECKPOINT_VERSION, "config": config.to_dict(),
                        "epoch": epoch, "model": model.state_dict(),
                        "ema": ema_model.state_dict() if ema_model is not None else None})
                checkpoint(epoch)
                scores = (f", FID {history['metrics'][-1]['fid']:.2f}, IS {history['metrics'][-1]['is']:.2f}"
                          if epoch in config.metric_epochs else "")
                log(f"epoch {epoch}/{config.epochs}: train {history['train_loss'][-1]:.4f}, "
                    f"val {history['val_loss'][-1]:.4f}{scores}, {history['epoch_seconds'][-1]:.0f} s -> {ckpt_path}"
                    + (f" ({clock.pauses} step(s) during which the process was stopped counted as long as "
                       "the step before)" if clock.pauses else ""))
                clock.pauses = 0
                if stop_after_epoch is not None and epoch >= stop_after_epoch:
                    break
                if budget_s is not None and trained_s >= budget_s:
                    log(f"time budget of {config.minutes} minutes reached at the end of epoch {epoch}")
                    break
    return history

