"""Image sets of known quality (held-out digits, noise, blurred, mirrored and thickened digits, one
digit or one class repeated) for calibrating the sample-quality metrics of :mod:`lib.metrics` and
:mod:`lib.inception`.
"""
from __future__ import annotations

import torch
from torch import nn

from .data import load_mnist, to_uint8

#: The sets :func:`probe_sets` builds, each with what it stands for.
PROBE_SETS = {
    "real (held-out digits)": "validation digits, which the classifier never trained on: a perfect generator",
    "uniform noise": "uniform random pixels",
    "blurred, sigma 1": "the held-out digits blurred by a Gaussian of standard deviation 1 pixel",
    "blurred, sigma 2": "the same blurred with standard deviation 2",
    "mirrored": "the held-out digits flipped left to right (most are no longer digits)",
    "thick strokes": "the held-out digits dilated by a 3 x 3 maximum filter",
    "one digit repeated": "the first held-out digit n times (total mode collapse)",
    "ones only": "training digits labelled 1 (a generator that learned one class)",
}


def probe_sets(n: int, data_root=None, names=None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Image sets of known quality, n uint8 (n, 1, 28, 28) images each, for calibrating metrics
    (see :data:`PROBE_SETS`). Deterministic for a given ``seed``."""
    from torchvision.transforms.functional import gaussian_blur

    names = list(PROBE_SETS) if names is None else list(names)
    unknown = [name for name in names if name not in PROBE_SETS]
    if unknown:
        raise ValueError(f"unknown probe set(s) {unknown}; choose from {list(PROBE_SETS)}")
    held = load_mnist("val", root=data_root)
    if not 2 <= n <= len(held.images):
        raise ValueError(f"n must be between 2 and {len(held.images)} (the held-out digits), got {n}")
    x = held.images[:n]
    out = {}
    for name in names:
        if name == "real (held-out digits)":
            out[name] = to_uint8(x)
        elif name == "uniform noise":
            out[name] = torch.randint(0, 256, (n, 1, 28, 28), generator=torch.Generator().manual_seed(seed),
                                      dtype=torch.uint8)
        elif name == "blurred, sigma 1":
            out[name] = to_uint8(gaussian_blur(x, 7, 1.0))
        elif name == "blurred, sigma 2":
            out[name] = to_uint8(gaussian_blur(x, 11, 2.0))
        elif name == "mirrored":
            out[name] = to_uint8(x.flip(-1))
        elif name == "thick strokes":
            out[name] = to_uint8(nn.functional.max_pool2d(x, 3, stride=1, padding=1))
        elif name == "one digit repeated":
            out[name] = to_uint8(x[:1]).repeat(n, 1, 1, 1)
        elif name == "ones only":
            train = load_mnist("train", root=data_root)
            ones = train.images[train.labels == 1]
            if len(ones) < n:
                raise ValueError(f"only {len(ones)} ones in the training split, asked for n={n}")
            out[name] = to_uint8(ones[:n])
    return out
