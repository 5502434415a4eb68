"""The coursework's plain CNN, the network of chapters 1 to 3."""
from __future__ import annotations

import torch
from torch import nn

from .base import ACTIVATIONS, Network, activation_class
from .embeddings import SinusoidalEmbedding

CNN_ACTIVATIONS = ("gelu", "selu")


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


class CourseworkCNN(Network):
    """The coursework's plain CNN: ``len(hidden)`` conv blocks, the conditioning vector (time embedding,
    plus the label embedding when ``num_classes`` is set) added after the first block, and a final 3x3
    convolution back to ``channels`` channels."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (16, 32, 32, 16),
        activation: str = "gelu",
        kernel_size: int = 7,
        image_size: int = 28,
        channels: int = 1,
        n_freqs: int = 16,
        time_hidden: int = 128,
        num_classes: int | None = None,
    ):
        super().__init__(image_size, channels, num_classes)
        hidden = tuple(int(h) for h in hidden)
        if len(hidden) < 1 or any(h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive channel counts, got {hidden}")
        activation_class(activation, CNN_ACTIVATIONS)
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number (size-preserving), got {kernel_size}")
        # Creation order (blocks, time MLP, out, then the label embedding) keeps the initial weights of an
        # unconditional network identical, seed for seed, to those of the checkpoints trained before.
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
        self.add_label_embedding(hidden[0])

    def forward(self, x: torch.Tensor, t_frac: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        self.check_inputs(x, t_frac, label)
        h = self.blocks[0](x)
        h = h + self.conditioning(t_frac, label).to(h.dtype)[:, :, None, None]
        for block in self.blocks[1:]:
            h = block(h)
        return self.out(h)
