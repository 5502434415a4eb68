"""Comparing trained runs (chapter 3): what each configuration changes, which runs are trained, where
in the process each model errs (on one noise-level axis for any T and schedule), and the scores of
``lib.score_epochs`` summarised per epoch beside the real-digit floor at the same n."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

from .checkpoints import CheckpointError, read_checkpoint
from .configs import CONFIGS, OBSERVATION_FIELDS, TrainConfig
from .diffusion import log_snr
from .processes import loss_by_timestep

#: The scores a record of :mod:`lib.epoch_scores` holds per scored set.
SCORE_FIELDS = ("fid", "kid", "is", "precision", "recall")

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


def _schedule_of(process, what: str):
    schedule = getattr(process, "schedule", None)
    if schedule is None:
        raise ValueError(f"{what} needs a Gaussian diffusion process with a noise schedule, got "
                         f"{process!r}; for a cold process use lib.processes.loss_by_timestep")
    return schedule


def _level_centres(schedule, edges: torch.Tensor) -> torch.Tensor:
    """Each range of t (edges[b] < t <= edges[b + 1]) placed at its steps' mean log-SNR (log_snr[i] is t = i + 1)."""
    snr = log_snr(schedule)
    return torch.stack([snr[int(edges[b]):int(edges[b + 1])].mean() for b in range(len(edges) - 1)])


def loss_by_noise_level(model: torch.nn.Module, process, x0: torch.Tensor, bins: int = 12, seed: int = 0,
                        batch_size: int = 500) -> dict:
    """The squared error of the predicted noise (the loss of Algorithm 1 with MSE, whatever loss the
    run trained with) in ``bins`` equal ranges of t, each placed at its steps' mean log-SNR
    (:func:`lib.diffusion.log_snr`), so that runs of different T and schedules share one axis. Every
    image of ``x0`` is scored once per range, with seeded t and noise (:func:`lib.processes.loss_by_timestep`).
    Returns {"edges", "log_snr", "mse"}; ranges run from the cleanest steps to the noisiest."""
    schedule = _schedule_of(process, "loss_by_noise_level")
    edges, mse = loss_by_timestep(model, process, x0, bins=bins, loss="mse", seed=seed, batch_size=batch_size)
    return {"edges": edges, "log_snr": _level_centres(schedule, edges), "mse": mse}


def prediction_means_by_noise_level(model: torch.nn.Module, process, x0: torch.Tensor, bins: int = 12, seed: int = 0,
                                    batch_size: int = 500) -> dict:
    """What a network predicts on average at each noise level, on the same pairs as
    :func:`loss_by_noise_level` (same ``seed``, same t and noise): over every pixel of every image, the
    mean predicted noise minus the true noise ("eps_bias"), the mean pixel of the clean image the
    prediction implies (:func:`lib.diffusion.predict_x0`; "x0_hat") beside the true one ("x0"), the
    share of pixels above mid-grey (0 in [-1, 1]) in each ("ink_hat", "ink"), and the share of pixels
    whose predicted noise is off by 1 or more ("beyond_1": where SmoothL1 with beta = 1 stops being
    half the squared error and becomes linear), and by how much the squared error exceeds twice SmoothL1
    there ("mse_minus_2smooth", the mean of (|r| - 1)^2 over pixels with |r| >= 1, 0 elsewhere, per pixel
    of all: the gap between the squared error and a doubled SmoothL1 loss).

    A network trained with MSE estimates the mean of the noise given z_t, so by the tower property
    its eps_bias is 0 and its x0_hat is x0 at every level, up to its errors; one trained with L1 estimates
    the median, which for a pixel that is background in most digits that fit z_t is the background."""
    schedule = _schedule_of(process, "prediction_means_by_noise_level")
    from .diffusion import predict_x0
    from .processes import predictions_by_timestep

    fields = ("eps_bias", "x0_hat", "x0", "ink_hat", "ink", "beyond_1", "mse_minus_2smooth")
    sums = torch.zeros(len(fields), bins, dtype=torch.float64)
    edges = None
    for b, edges, x, t, x_t, target, output in predictions_by_timestep(model, process, x0, bins, seed=seed,
                                                                       batch_size=batch_size):
        x0_hat = predict_x0(schedule, x_t, t.to(x_t.device), output)
        error = output - target
        excess = (error.abs() - 1).clamp(min=0) ** 2  # r^2 - 2 SmoothL1(r) with beta = 1
        for row, v in enumerate((error, x0_hat, x, x0_hat > 0, x > 0, error.abs() >= 1, excess)):
            sums[row, b] += float(v.double().sum())
    sums /= x0[0].numel() * x0.shape[0]
    return {"edges": edges, "log_snr": _level_centres(schedule, edges),
            **dict(zip(fields, sums))}


def score_summary(record: dict, weights: str | None = None, sets=None) -> list[dict]:
    """One row per scored epoch of a :mod:`lib.epoch_scores` record (of one kind of ``weights`` if
    given; of the set numbers in ``sets`` only, if given, e.g. to compare precision between runs over
    the same reference subsets): the number of independent sets, each score's mean over them and its
    sample standard deviation (``<score>_sd``; 0 for a single set), and the class counts summed over
    the sets."""
    if weights is not None and weights not in ("raw", "ema"):
        raise ValueError(f"weights must be 'raw', 'ema' or None, got {weights!r}")
    wanted = None if sets is None else set(sets)
    if wanted is not None and (not wanted or not all(isinstance(k, int) and k >= 0 for k in wanted)):
        raise ValueError(f"sets must be set numbers (integers >= 0), at least one, got {sorted(wanted, key=str)!r}")
    by_epoch: dict[int, list[dict]] = {}
    for e in record["entries"]:
        if (weights is None or e["weights"] == weights) and (wanted is None or int(e["set"]) in wanted):
            by_epoch.setdefault(int(e["epoch"]), []).append(e)
    rows = []
    for epoch, sets in sorted(by_epoch.items()):
        row = {"epoch": epoch, "sets": len(sets), "n": sum(int(e["n"]) for e in sets)}
        for field in SCORE_FIELDS:
            values = np.array([float(e[field]) for e in sets])
            row[field] = float(values.mean())
            row[f"{field}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        row["class_counts"] = [int(c) for c in np.sum([e["class_counts"] for e in sets], axis=0)]
        rows.append(row)
    return rows


def real_floor(n: int, sets: int = 1, classifier=None, data_root=None, first_seed: int = 0) -> list[dict]:
    """The scores of ``sets`` disjoint sets of ``n`` validation digits (set i: digits i*n to (i+1)*n,
    precision/recall's reference seed ``first_seed + i``, as :func:`lib.epoch_scores.score_epochs` seeds
    its set i): what a perfect generator scores at that n, and how much it moves from one set to the next."""
    from .data import load_mnist
    from .metrics import score
    from .viz import to_uint8

    if not isinstance(n, int) or n < 2 or not isinstance(sets, int) or sets < 1:
        raise ValueError(f"n must be an integer >= 2 and sets a positive integer, got n={n!r}, sets={sets!r}")
    digits = load_mnist("val", root=data_root).images
    if n * sets > len(digits):
        raise ValueError(f"the floor needs {n * sets} validation digits ({sets} disjoint set(s) of {n}) and the "
                         f"data set has {len(digits)}; lower n" + (" or sets" if sets > 1 else ""))
    return [score(to_uint8(digits[i * n:(i + 1) * n]), classifier, data_root=data_root, seed=first_seed + i)
            for i in range(sets)]


def time_by_device(history: dict) -> list[dict]:
    """A run's training time split by where it trained: one row per stretch of ``history["devices"]``
    ({"device", "first_epoch", "epochs", "seconds"}, from the per-epoch ``epoch_seconds``). A history
    from before devices were recorded gives one stretch on device "unrecorded"."""
    seconds = list(history.get("epoch_seconds", []))
    stretches = history.get("devices") or [{"device": "unrecorded", "from_epoch": 0}]
    epochs = list(history.get("epoch", range(1, len(seconds) + 1)))
    rows = []
    for i, d in enumerate(stretches):
        end = stretches[i + 1]["from_epoch"] if i + 1 < len(stretches) else float("inf")
        picked = [s for e, s in zip(epochs, seconds) if d["from_epoch"] < e <= end]
        if picked:
            rows.append({"device": d["device"], "first_epoch": d["from_epoch"] + 1, "epochs": len(picked),
                         "seconds": float(sum(picked))})
    return rows


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile (0.5 < p < 1) of Student's t distribution with ``df`` >= 1 degrees of freedom
    (fractional allowed, as Welch's are, which are never below 1): the upper tail integrated numerically
    in theta = arctan(t), which maps the infinite tail onto a finite interval, and inverted by bisection;
    accurate to about 1e-4, without SciPy."""
    if not 0.5 < p < 1:
        raise ValueError(f"p must be between 0.5 and 1, got {p!r}")
    if not df >= 1:
        raise ValueError(f"df must be at least 1, got {df!r}")
    df = min(float(df), 1e7)  # beyond that the t distribution is the normal one to 1e-7
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def upper_tail(x: float) -> float:
        theta = np.linspace(math.atan(x), math.pi / 2, 20001)
        t = np.tan(theta[:-1])
        # the density times dt/dtheta = 1 + t^2; at theta = pi/2 that tends to 0 for df > 1 and 1/pi for df = 1
        f = np.exp(log_c - (df + 1) / 2 * np.log1p(t * t / df)) * (1 + t * t)
        f = np.append(f, 1 / math.pi if df == 1 else 0.0)
        return float(np.sum((f[1:] + f[:-1]) / 2 * np.diff(theta)))

    lo, hi = 0.0, 1.0
    while upper_tail(hi) > 1 - p:
        lo, hi = hi, hi * 2
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if upper_tail(mid) > 1 - p else (lo, mid)
    return (lo + hi) / 2


def difference(a: dict, b: dict, field: str = "fid", level: float = 0.95) -> dict:
    """``a - b`` for one score of two :func:`score_summary` rows (an epoch with independent sets each),
    with the standard error of the difference from the sets' spread (sd / sqrt(sets) for each), Welch's
    degrees of freedom for it, and whether the difference exceeds the two-sided t critical value at
    ``level`` times that standard error: "distinguishable at this n". A spread from two sets rests on one
    degree of freedom, so the critical value is large (12.7 standard errors at 95% for df = 1): few sets
    decide little. The spread is that of sampling only: the swing from one saved checkpoint to the next,
    and from one training to another, are not in it."""
    for name, row in (("a", a), ("b", b)):
        if row.get("sets", 0) < 2:
            raise ValueError(f"row {name} (epoch {row.get('epoch')}) has {row.get('sets', 0)} set(s); a spread needs "
                             "at least two independent sets (lib.score_epochs --final-sets)")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level!r}")
    diff = a[field] - b[field]
    va, vb = a[f"{field}_sd"] ** 2 / a["sets"], b[f"{field}_sd"] ** 2 / b["sets"]
    se = float(np.sqrt(va + vb))
    denominator = va ** 2 / (a["sets"] - 1) + vb ** 2 / (b["sets"] - 1)
    df = float((va + vb) ** 2 / denominator) if denominator > 0 else float("inf")
    critical = t_quantile(0.5 + level / 2, df)
    return {"difference": diff, "se": se, "df": df, "critical": critical,
            "distinguishable": bool(abs(diff) > critical * se)}


def difference_columns(row: dict, reference: dict | None, label: str, field: str = "fid", level: float = 0.95) -> dict:
    """A results table's columns comparing ``row`` with ``reference`` (two :func:`score_summary` rows):
    "<FIELD> - <label>", its "standard error", "needed" (the smallest difference :func:`difference`
    calls distinguishable: the t critical value times the standard error) and "distinguishable"
    ("yes"/"no"); all None where there is no reference or ``row`` is the reference itself."""
    name = f"{field.upper()} - {label}"
    if reference is None or row is reference:
        return {name: None, "standard error": None, "needed": None, "distinguishable": None}
    d = difference(row, reference, field, level)
    return {name: d["difference"], "standard error": d["se"], "needed": d["critical"] * d["se"],
            "distinguishable": "yes" if d["distinguishable"] else "no"}
