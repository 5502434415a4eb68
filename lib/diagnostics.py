"""Per-class diagnostics of a set of digits, beside the scores of :mod:`lib.metrics`: which digits the
MNIST classifier (:mod:`lib.classifier`) sees in it, how sure it is of each, and how close each image
is to its nearest training digits (a memorisation check).

Logits are (N, C) classifier outputs. Images for :func:`nearest_neighbours` are uint8 (compared in
pixel space, scaled to [0, 1]) or float features (compared as they are).
"""
from __future__ import annotations

import torch


def class_histogram(logits: torch.Tensor) -> torch.Tensor:
    """Share of the images predicted as each class (the argmax of their logits): (C,) float64, sums to 1."""
    counts = torch.bincount(logits.argmax(1), minlength=logits.shape[1])
    return counts.double() / len(logits)


def confidence(logits: torch.Tensor) -> torch.Tensor:
    """The classifier's confidence in each image, its largest softmax probability: (N,), in [1/C, 1]."""
    return logits.double().softmax(1).amax(1)


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """Total variation distance between two class histograms, half the sum of |p - q|: the share of
    images that would have to change class to turn one histogram into the other (0 equal, 1 disjoint)."""
    return float(0.5 * (p.double() - q.double()).abs().sum())


def misrepresented_classes(p: torch.Tensor, q: torch.Tensor, factor: float = 1.5) -> tuple[list[int], list[int]]:
    """Classes of which histogram ``p`` holds too many and too few against histogram ``q``: those whose
    share in ``p`` is above ``factor`` times their share in ``q``, and those below ``1 / factor`` of it,
    each list sorted by that ratio, furthest from ``q`` first."""
    if factor <= 1:
        raise ValueError(f"factor must be above 1, got {factor}")
    p, q = p.double(), q.double()
    over = [c for c in range(len(p)) if p[c] > factor * q[c]]
    under = [c for c in range(len(p)) if p[c] * factor < q[c]]
    ratio = p / q
    return (sorted(over, key=lambda c: -float(ratio[c])), sorted(under, key=lambda c: float(ratio[c])))


def _flat(x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Rows as float64, with the unit they are in (255 for uint8 pixels, kept as integers here)."""
    return x.reshape(len(x), -1).double(), (255.0 if x.dtype == torch.uint8 else 1.0)


def nearest_neighbours(query: torch.Tensor, reference: torch.Tensor, k: int = 1,
                       chunk: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distances (N, k) and indices (N, k) of the ``k`` rows of ``reference`` nearest to
    each row of ``query``, nearest first. Rows are flattened; uint8 images are scaled to [0, 1] first,
    so pixel distances lie between 0 (the same image) and 28 (black against white everywhere).
    Computed as |a|^2 + |b|^2 - 2 a.b in float64: for uint8 images every term is an integer below
    2^53, so the squared distances are exact (a copy of a training digit is at distance 0)."""
    if not 1 <= k <= len(reference):
        raise ValueError(f"k must be between 1 and the {len(reference)} reference rows, got {k}")
    (q, unit), (r, unit_r) = _flat(query), _flat(reference)
    if unit != unit_r:
        raise ValueError("query and reference must both be uint8 images, or both be features")
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"query rows have {q.shape[1]} values, reference rows {r.shape[1]}")
    r_sq = (r * r).sum(1)
    dists, idx = [], []
    for i in range(0, len(q), chunk):
        a = q[i:i + chunk]
        sq = ((a * a).sum(1)[:, None] + r_sq[None, :] - 2 * a @ r.t()).clamp_min(0)
        d, j = sq.topk(k, dim=1, largest=False)
        dists.append(d.sqrt() / unit)
        idx.append(j)
    return torch.cat(dists), torch.cat(idx)
