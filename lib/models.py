"""Noise-prediction networks. A network is called as ``model(z_t, t_frac)`` with ``z_t`` of shape
(B, 1, H, W) and ``t_frac = t / T`` of shape (B,), and returns a tensor shaped like ``z_t``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {"gelu": nn.GELU, "selu": nn.SELU}


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


class ConvBlock(nn.Module):
    """k x k convolution (7 x 7 in the coursework; zero padding, size kept) -> LayerNorm over (C, H, W)
    -> activation."""

    def __init__(self, c_in: int, c_out: int, image_size: int, kernel_size: int, activation: str):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2)
        self.norm = nn.LayerNorm((c_out, image_size, image_size))
        self.act = ACTIVATIONS[activation]()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


class CourseworkCNN(nn.Module):
    """The coursework's plain CNN: ``len(hidden)`` conv blocks, the time embedding added after the
    first block, and a final 3x3 convolution back to ``channels`` channels."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (16, 32, 32, 16),
        activation: str = "gelu",
        kernel_size: int = 7,
        image_size: int = 28,
        channels: int = 1,
        n_freqs: int = 16,
        time_hidden: int = 128,
    ):
        super().__init__()
        hidden = tuple(int(h) for h in hidden)
        if len(hidden) < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive channel counts, got {hidden}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number (size-preserving), got {kernel_size}")
        self.image_size, self.channels = image_size, channels
        chans = (channels, *hidden)
        self.blocks = nn.ModuleList(
            ConvBlock(c_in, c_out, image_size, kernel_size, activation) for c_in, c_out in zip(chans, chans[1:])
        )
        self.time_embedding = SinusoidalEmbedding(n_freqs)
        self.time_mlp = nn.Sequential(
            nn.Linear(self.time_embedding.dim, time_hidden), nn.GELU(),
            nn.Linear(time_hidden, time_hidden), nn.GELU(),
            nn.Linear(time_hidden, hidden[0]),
        )
        self.out = nn.Conv2d(hidden[-1], channels, 3, padding=1)

    def forward(self, z_t: torch.Tensor, t_frac: torch.Tensor) -> torch.Tensor:
        expected = (self.channels, self.image_size, self.image_size)
        if z_t.ndim != 4 or tuple(z_t.shape[1:]) != expected:
            raise ValueError(f"expected images of shape (B, {', '.join(map(str, expected))}), got {tuple(z_t.shape)}")
        h = self.blocks[0](z_t)
        h = h + self.time_mlp(self.time_embedding(t_frac)).to(h.dtype)[:, :, None, None]
        for block in self.blocks[1:]:
            h = block(h)
        return self.out(h)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
