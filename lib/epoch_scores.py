"""Scores of a run's samples at several epochs, kept in a JSON record: how chapter 3 compares runs.

:func:`score_epochs` samples a run at each requested epoch (its snapshots, or its last epoch) with the
weights asked for ("raw", "ema"), ``n`` images per set, and scores each set with the book's classifier
(:func:`lib.metrics.score`: FID, KID, IS, precision, recall) and its class histogram. Set ``k`` is
drawn with seed ``k`` for every run, so runs with the same T start from the same noise. At the last
requested epoch it draws ``final_sets`` independent sets, whose spread says which differences between
runs the scores can resolve. Each entry is written to the record as soon as it is scored, so an
interrupted call loses at most one set: call it again and it does only what is missing.
``python -m lib.score_epochs`` is the command line (:mod:`lib.cli.score_epochs`).
"""
from __future__ import annotations

import json
import os
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .checkpoints import read_checkpoint, resolve_checkpoint_path, save_json_atomically
from .classifier import LoadedClassifier, check_scorable, load_classifier
from .configs import TrainConfig
from .data import to_uint8
from .runs import load_trained
from .sampling import sample_images, sampler_step

FORMAT, VERSION = "diffusion-book-epoch-scores", 1
SCORES = ("fid", "kid", "kid_std", "is", "precision", "recall")


class RecordError(ValueError):
    """A score record that does not belong to this run or protocol."""


def _protocol(n: int, step: str | None, steps: int | None, classifier: LoadedClassifier,
              start_noise: float | None = None) -> dict:
    protocol = {"n": n, "sampler": step or "default", "steps": steps, "classifier_sha256": classifier.sha256}
    if start_noise is not None:  # only records of cold runs scored with --start-noise have it
        protocol["start_noise"] = start_noise
    return protocol


def read_record(path: str | os.PathLike) -> dict:
    """Read a score record, with a clear error for anything else."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise RecordError(f"no score record at '{path}'; write one with python -m lib.score_epochs") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise RecordError(f"'{path}' is not a readable score record (corrupt?)") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise RecordError(f"'{path}' is not a diffusion-book score record")
    return record


def add_scored_set(record: dict, out: Path, key: dict, draw, classifier: LoadedClassifier, seed: int,
                   data_root=None, labels: torch.Tensor | None = None, device: str | torch.device = "cpu") -> dict:
    """Draw one set of samples (``draw()`` returns them in the model range), time it, score it
    (:data:`SCORES` and the class histogram), append the entry ``key`` + scores + timing to ``record``
    and write the record to ``out`` at once; return the entry. With the ``labels`` the samples were asked
    for (a conditional model), the entry also holds ``accuracy``, the fraction the classifier reads as
    their label, and ``class_accuracy``, that fraction for each label 0..9 (None for a label not asked).
    ``device`` is where ``draw`` samples; the entry names it (scoring itself runs on the CPU)."""
    from .metrics import read_digits, score  # the scoring stack loads only when something is scored
    from .precision import describe_device

    t0 = time.perf_counter()
    images = to_uint8(draw().cpu())  # .cpu() waits for a GPU to finish, so the time is the sampling's
    seconds = time.perf_counter() - t0
    scores = score(images, classifier, data_root=data_root, seed=seed)
    read = read_digits(images, classifier)
    counts = torch.bincount(read, minlength=10)
    entry = {**key, **{k: float(scores[k]) for k in SCORES}, "class_counts": counts.tolist(),
             "sample_seconds": round(seconds, 1), "threads": torch.get_num_threads(),
             "device": describe_device(device)}
    if labels is not None:
        labels = torch.as_tensor(labels).long().reshape(-1)
        if labels.shape != (len(images),):
            raise ValueError(f"labels must hold one class per sample ({len(images)}), got shape {tuple(labels.shape)}")
        hits = (read == labels).float()
        entry["accuracy"] = float(hits.mean())
        entry["class_accuracy"] = [float(hits[labels == k].mean()) if bool((labels == k).any()) else None
                                   for k in range(10)]
    _append_entry(record, Path(out), entry, key)
    return entry


@contextmanager
def _folder_lock(folder: Path):
    """Hold an exclusive lock on ``folder`` (POSIX ``flock``; nothing where it is unavailable), so that
    two scoring processes writing records there take turns."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _append_entry(record: dict, out: Path, entry: dict, key: dict) -> None:
    """Append ``entry`` to the record at ``out`` and write it. The file is read again first, under a lock,
    so entries another process wrote since ``record`` was opened are kept, not overwritten; an entry
    with the same ``key`` written meanwhile wins over this one (a warning says so)."""
    with _folder_lock(out.parent):
        if out.exists():
            record["entries"] = read_record(out)["entries"]
        if any(all(e.get(k) == v for k, v in key.items()) for e in record["entries"]) and key:
            warnings.warn(f"{out}: a set {key} was written meanwhile by another process; kept that one")
        else:
            record["entries"].append(entry)
        save_json_atomically(record, out)


def open_record(out: Path, header: dict) -> dict:
    """The record at ``out`` if its header matches ``header`` (else a :class:`RecordError`), or a new one."""
    if not out.exists():
        return {"format": FORMAT, "version": VERSION, **header, "entries": []}
    record = read_record(out)
    found = {k: record.get(k) for k in header}
    if found != header:
        raise RecordError(f"'{out}' holds scores of {found}, not of {header}; choose another output file")
    return record


def score_epochs(run: str | os.PathLike, out: str | os.PathLike, epochs: list[int], n: int = 500,
                 final_sets: int = 1, weights: tuple[str, ...] = ("auto",), step: str | None = None,
                 steps: int | None = None, classifier: LoadedClassifier | None = None,
                 data_root: str | os.PathLike | None = None, progress: bool = True, log=print,
                 device: str | torch.device = "cpu", start_noise: float | None = None) -> dict:
    """Score ``run`` (a checkpoint or its folder) at ``epochs`` into the record ``out``; return it.
    Samples are drawn on ``device`` (the scores do not depend on it beyond floating-point rounding).
    ``start_noise`` replaces a cold run's noise on its generation start (:class:`lib.degradations.ColdProcess`;
    0: none) and is part of the record's protocol."""
    if not epochs or any(not isinstance(e, int) or e < 1 for e in epochs):
        raise ValueError(f"epochs must be a non-empty list of positive epoch numbers, got {epochs!r}")
    if not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (FID needs at least two samples), got {n!r}")
    if not isinstance(final_sets, int) or final_sets < 1:
        raise ValueError(f"final_sets must be a positive integer, got {final_sets!r}")
    if start_noise is not None and not (isinstance(start_noise, (int, float)) and 0 <= start_noise < float("inf")):
        raise ValueError(f"start_noise must be a number >= 0, got {start_noise!r}")
    ckpt = resolve_checkpoint_path(run)
    state = read_checkpoint(ckpt)
    check_scorable(TrainConfig.from_dict(state["config"]).dataset, "score_epochs")
    trained = state["epoch"]
    if max(epochs) > trained:
        raise ValueError(f"'{ckpt}' has trained {trained} epochs, not {max(epochs)}; score epochs up to {trained}")
    step_name, step_options = sampler_step(step)  # a named sampler such as "ddpm-clip", or a plain step
    classifier = classifier or load_classifier()
    if start_noise is not None and TrainConfig.from_dict(state["config"]).process == "gaussian":
        raise ValueError(f"'{ckpt}' is a Gaussian (DDPM) run; start_noise applies only to cold runs, whose "
                         f"generation starts from a fitted mixture plus noise")
    protocol = _protocol(n, step, steps, classifier, None if start_noise is None else float(start_noise))
    out = Path(out)
    record = open_record(out, {"run": state["config"]["name"], "protocol": protocol})
    # "auto" means the EMA weights when the run kept them (as lib.runs.load_trained resolves it), so a
    # set already scored is skipped without loading its weights; "ema" of a run without is load_trained's error
    kept_ema = state.get("ema") is not None
    resolved = list(dict.fromkeys("ema" if w == "ema" or (w == "auto" and kept_ema) else "raw" for w in weights))
    done = {(e["epoch"], e["weights"], e["set"]) for e in record["entries"]}
    last = max(epochs)
    todo = [(epoch, w, s) for epoch in sorted(set(epochs)) for w in resolved
            for s in range(final_sets if epoch == last else 1) if (epoch, w, s) not in done]
    for epoch, w, s in tqdm(todo, desc=f"scoring {record['run']}", disable=not progress):
        loaded = load_trained(ckpt, epoch=epoch, weights=w)
        if start_noise is not None:
            loaded.process.start_noise = float(start_noise)
        model = loaded.model.to(device)
        shape = loaded.config.image_shape
        entry = add_scored_set(
            record, out, {"epoch": epoch, "weights": loaded.weights, "set": s, "seed": s, "n": n},
            lambda: sample_images(model, loaded.process, n, torch.Generator().manual_seed(s),
                                  image_shape=shape, step=step_name, steps=steps, precision="fp32", device=device,
                                  **step_options),
            classifier, s, data_root, device=device)
        log(f"{record['run']} epoch {epoch} ({loaded.weights} weights), set {s}: FID {entry['fid']:.2f}, "
            f"{entry['sample_seconds']:.0f} s of sampling -> {out}")
    return record


def entry(record: dict, epoch: int, set: int = 0, weights: str | None = None) -> dict:
    """The record's one entry of ``epoch`` and ``set`` (and ``weights``, if given); a one-line error
    naming what the record holds if there is none, or several (weights left out where it has both)."""
    found = [e for e in record["entries"]
             if (e["epoch"], e["set"]) == (epoch, set) and weights in (None, e["weights"])]
    if len(found) != 1:
        held = sorted({(e["epoch"], e["weights"], e["set"]) for e in record["entries"]})
        what = f"epoch {epoch}, set {set}" + ("" if weights is None else f", {weights} weights")
        raise KeyError(f"the record of '{record.get('run')}' holds {len(found)} entries of {what} "
                       f"(one expected{'; name the weights' if found else ''}); it holds (epoch, weights, set) "
                       f"{held}")
    return found[0]


def entries(record: dict, weights: str | None = None) -> list[dict]:
    """The record's entries (of one kind of ``weights`` if given), sorted by epoch and set."""
    rows = [e for e in record["entries"] if weights is None or e["weights"] == weights]
    return sorted(rows, key=lambda e: (e["epoch"], e["weights"], e["set"]))
