"""Classifier-free guidance, measured: one conditional model's samples at several guidance weights.

:func:`guidance_sweep` draws ``n`` samples of a class-conditional run for each guidance weight w, asking
for the digits 0, 1, ..., 9, 0, 1, ... in turn (``n / 10`` of each), all from the same seed and so from
the same starting noise, and scores each set with the book's classifier: FID, KID, IS, precision and
recall against the MNIST test set (:func:`lib.metrics.score`), the class histogram, and the accuracy
(the fraction of samples the classifier reads as the digit asked for), overall and per digit. With
:func:`lib.sampling.predict`'s convention, the network's output is
out(no label) + w * (out(label) - out(no label)): w = 0 is the unconditional model, w = 1 the plain
conditional one, w > 1 guided (Ho & Salimans 2022 write the same as (1 + w') out(label) - w' out(no
label), so their w' is w - 1). Each weight is written to the record as soon as it is scored, so an
interrupted sweep resumes. ``python -m lib.sweep_guidance`` is the command line.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .classifier import LoadedClassifier, check_scorable, load_classifier
from .epoch_scores import add_scored_set, open_record
from .runs import load_trained
from .sampler_sweep import sampler_step
from .sampling import sample_images


def requested_labels(n: int, num_classes: int = 10) -> torch.Tensor:
    """The labels of a sweep's ``n`` samples: 0, 1, ..., num_classes - 1, 0, 1, ... (balanced when
    ``num_classes`` divides ``n``)."""
    return torch.arange(n) % num_classes


def check_weights(weights) -> list[float]:
    """Guidance weights as a list of finite floats >= 0, or a one-line error."""
    try:
        out = [float(w) for w in weights]
    except (TypeError, ValueError):
        raise ValueError(f"guidance weights must be numbers, got {weights!r}") from None
    bad = [w for w in out if not math.isfinite(w) or w < 0]
    if not out or bad:
        raise ValueError(f"guidance weights must be finite numbers >= 0 (0: unconditional, 1: the plain "
                         f"conditional model), got {bad or weights!r}")
    return out


def guidance_sweep(run: str | os.PathLike, out: str | os.PathLike, weights, n: int = 1000, seed: int = 0,
                   step: str | None = "ddim", steps: int | None = 100, classifier: LoadedClassifier | None = None,
                   data_root: str | os.PathLike | None = None, progress: bool = True, log=print,
                   device: str | torch.device = "cpu") -> dict:
    """Score ``n`` samples of the conditional ``run`` at every guidance weight into the record ``out``.
    ``step`` is a sampler step ("ddim": eta 0; "ddpm": sigma^2 = beta) or a sampler of the sampler
    sweep (:data:`lib.sampler_sweep.SAMPLERS`, such as "ddpm-posterior"); the record names it."""
    weights = check_weights(weights)
    step_name, step_options = sampler_step(step)
    if not isinstance(n, int) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (FID needs at least two samples), got {n!r}")
    loaded = load_trained(run)
    check_scorable(loaded.config.dataset, "guidance_sweep")
    num_classes = loaded.config.num_classes
    if num_classes is None:
        raise ValueError(f"'{run}' is unconditional (trained without labels); guidance needs a run with "
                         f"num_classes, such as cond-unet")
    if num_classes > 10:
        raise ValueError(f"the book's classifier reads 10 digits; '{run}' has {num_classes} classes")
    classifier = classifier or load_classifier()
    out = Path(out)
    record = open_record(out, {"run": loaded.config.name, "epoch": loaded.epoch, "weights": loaded.weights,
                               "n": n, "seed": seed, "sampler": step or "default", "steps": steps,
                               "classifier_sha256": classifier.sha256})
    done = {e["guidance"] for e in record["entries"]}
    labels = requested_labels(n, num_classes)
    shape = loaded.config.image_shape
    model = loaded.model.to(device)
    for w in tqdm([w for w in weights if w not in done], desc=f"guidance of {loaded.config.name}",
                  disable=not progress):
        entry = add_scored_set(
            record, out, {"guidance": w},
            lambda: sample_images(model, loaded.process, n, torch.Generator().manual_seed(seed),
                                  image_shape=shape, label=labels, guidance=w, step=step_name, steps=steps,
                                  precision="fp32", device=device, **step_options),
            classifier, seed, data_root, labels=labels, device=device)
        log(f"{loaded.config.name}, guidance {w:g}: FID {entry['fid']:.2f}, accuracy {entry['accuracy']:.3f}, "
            f"recall {entry['recall']:.3f}, {entry['sample_seconds']:.0f} s -> {out}")
    return record


def by_weight(record: dict) -> list[dict]:
    """The record's entries sorted by guidance weight."""
    return sorted(record["entries"], key=lambda e: e["guidance"])


@torch.no_grad()
def guided_samples(model: torch.nn.Module, process, digits, weights, n: int = 16, seed: int = 0,
                   step: str | None = "ddim", steps: int | None = 20, image_size: int = 28) -> dict:
    """``n`` samples of every digit at every guidance weight, all from the same starting noise (one
    seed), so that what differs between them is the label and the weight alone; returns
    {(digit, weight): images in the model range}. ``step`` is a sampler step ("ddim": eta 0, where
    nothing else is random) or a sampler of :data:`lib.sampler_sweep.SAMPLERS` such as "ddpm-posterior",
    whose fresh noise at each step is drawn from the same seed in every cell too."""
    weights = check_weights(weights)
    num_classes = getattr(model, "num_classes", None)
    if num_classes is None:
        raise ValueError("guided samples need a class-conditional model (trained with num_classes)")
    bad = [d for d in digits if not isinstance(d, int) or not 0 <= d < num_classes]
    if bad:
        raise ValueError(f"digits must lie in 0..{num_classes - 1}, got {bad}")
    step_name, step_options = sampler_step(step)
    return {(d, w): sample_images(model, process, n, torch.Generator().manual_seed(seed),
                                  image_shape=(getattr(model, "channels", 1), image_size, image_size), label=d,
                                  guidance=w, step=step_name, steps=steps, precision="fp32", **step_options)
            for d in digits for w in weights}
