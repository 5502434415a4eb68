"""Fast sampling, measured: one model's samples under several samplers and numbers of steps, scored.

:func:`sweep_samplers` draws ``n`` samples of a run for each sampler of :data:`SAMPLERS` asked for and
each number of steps (respaced timesteps, :func:`lib.sampling.timesteps`), all from the same seed, and
scores them with the book's classifier (FID, KID, IS, precision, recall, class histogram), with the
wall time of the sampling. Each result is written to a JSON record (:mod:`lib.epoch_scores`'s format)
as soon as it is scored, so an interrupted sweep resumes. ``python -m lib.sweep_samplers`` is the
command line (:mod:`lib.cli.sweep_samplers`).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .classifier import LoadedClassifier, check_scorable, load_classifier
from .epoch_scores import add_scored_set, open_record
from .runs import load_trained
from .sampling import NAMED_SAMPLERS, SAMPLERS, sample_images, sampler_step  # noqa: F401 (the named samplers
# live in lib.sampling, which lib.epoch_scores also needs; they are re-exported here)

def by_pair(record: dict) -> dict:
    """A sweep record's entries keyed by (sampler, steps)."""
    return {(e["sampler"], e["steps"]): e for e in record["entries"]}


def sweep_samplers(run: str | os.PathLike, out: str | os.PathLike, samplers: list[str], steps: list[int],
                   n: int = 1000, seed: int = 0, weights: str = "auto", classifier: LoadedClassifier | None = None,
                   data_root: str | os.PathLike | None = None, progress: bool = True, log=print,
                   device: str | torch.device = "cpu") -> dict:
    """Score ``n`` samples of ``run`` for every (sampler, steps) pair into the record ``out``; return it.
    Samples are drawn on ``device``; each entry names it."""
    unknown = [s for s in samplers if s not in SAMPLERS]
    if not samplers or unknown:
        raise ValueError(f"unknown sampler(s) {unknown or samplers!r}; choose from {', '.join(SAMPLERS)}")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (FID needs at least two samples), got {n!r}")
    loaded = load_trained(run, weights=weights)
    check_scorable(loaded.config.dataset, "sweep_samplers")
    if loaded.config.process != "gaussian":
        raise ValueError(f"the sweep compares DDPM samplers; '{run}' is a {loaded.config.process} run")
    T = loaded.process.T
    bad = [k for k in steps if not isinstance(k, int) or not 1 <= k <= T]
    if not steps or bad:
        raise ValueError(f"steps must be whole numbers from 1 to the model's T = {T}, got {bad or steps!r}")
    classifier = classifier or load_classifier()
    out = Path(out)
    record = open_record(out, {"run": loaded.config.name, "epoch": loaded.epoch, "weights": loaded.weights,
                               "n": n, "seed": seed, "classifier_sha256": classifier.sha256})
    done = {(e["sampler"], e["steps"]) for e in record["entries"]}
    todo = [(s, k) for s in samplers for k in steps if (s, k) not in done]
    shape = loaded.config.image_shape
    model = loaded.model.to(device)
    for name, k in tqdm(todo, desc=f"samplers of {loaded.config.name}", disable=not progress):
        step, options = SAMPLERS[name]
        entry = add_scored_set(
            record, out, {"sampler": name, "steps": k},
            lambda: sample_images(model, loaded.process, n, torch.Generator().manual_seed(seed),
                                  image_shape=shape, step=step, steps=k, precision="fp32", device=device, **options),
            classifier, seed, data_root, device=device)
        log(f"{loaded.config.name}, {name} with {k} steps: FID {entry['fid']:.2f}, "
            f"{entry['sample_seconds']:.0f} s -> {out}")
    return record
