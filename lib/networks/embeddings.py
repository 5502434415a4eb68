"""Embeddings of the conditioning inputs: the diffusion time t/T and the class label."""
from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalEmbedding(nn.Module):
    """Encode s = t/T in [0, 1] as [sin(w_k s), cos(w_k s)] for ``n_freqs`` frequencies w_k spaced
    geometrically from 1 to ``max_freq`` radians per unit of s."""

    def __init__(self, n_freqs: int = 16, max_freq: float = 1000.0):
        super().__init__()
        freqs = torch.exp(torch.linspace(0.0, math.log(max_freq), n_freqs))
        self.register_buffer("freqs", freqs, persistent=False)

    @property
    def dim(self) -> int:
        return 2 * self.freqs.numel()

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        angles = s.float()[:, None] * self.freqs[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=1)


class LabelEmbedding(nn.Module):
    """A learned vector per class, plus one more row for "no label".

    Label values run from 0 to ``num_classes - 1``; the value -1 selects the "no label" row (the last
    one), which unconditional samples and classifier-free guidance use."""

    def __init__(self, num_classes: int, dim: int):
        super().__init__()
        if num_classes < 1 or dim < 1:
            raise ValueError(f"num_classes and dim must be positive, got num_classes={num_classes}, dim={dim}")
        self.num_classes = num_classes
        self.embedding = nn.Embedding(num_classes + 1, dim)

    def forward(self, label: torch.Tensor) -> torch.Tensor:
        if label.is_floating_point() or label.is_complex() or label.dtype == torch.bool:
            raise ValueError(f"label must be an integer tensor, got dtype {label.dtype}")
        if label.numel() and (int(label.min()) < -1 or int(label.max()) >= self.num_classes):
            raise ValueError(f"label values must lie in -1..{self.num_classes - 1} (-1 = no label), "
                             f"got values from {int(label.min())} to {int(label.max())}")
        row = torch.where(label < 0, self.num_classes, label).long()  # -1 -> the "no label" row
        return self.embedding(row)
