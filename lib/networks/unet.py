"""A small U-Net for 28 x 28 images: three resolutions (28, 14, 7), residual blocks, skip connections."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import Network, activation_class, group_count
from .embeddings import SinusoidalEmbedding

UNET_ACTIVATIONS = ("silu", "gelu")


class ResBlock(nn.Module):
    """GroupNorm -> activation -> 3x3 conv, plus the projected conditioning vector, then GroupNorm ->
    activation -> 3x3 conv; added to the input (through a 1x1 conv when the channel count changes)."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, act: type[nn.Module]):
        super().__init__()
        self.norm1, self.act1 = nn.GroupNorm(group_count(c_in), c_in), act()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.cond_proj = nn.Linear(cond_dim, c_out)
        self.norm2, self.act2 = nn.GroupNorm(group_count(c_out), c_out), act()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act1(self.norm1(x)))
        h = h + self.cond_proj(cond).to(h.dtype)[:, :, None, None]
        h = self.conv2(self.act2(self.norm2(h)))
        return h + self.skip(x).to(h.dtype)


class SelfAttention(nn.Module):
    """Single-head self-attention over the H*W positions: softmax(q k^T / sqrt(C)) v, added to the input."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.GroupNorm(group_count(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, height, width = x.shape
        q, k, v = self.qkv(self.norm(x)).flatten(2).transpose(1, 2).chunk(3, dim=2)  # each (B, H*W, C)
        h = F.scaled_dot_product_attention(q, k, v)
        h = self.proj(h.transpose(1, 2).reshape(b, c, height, width))
        return x.to(h.dtype) + h


class UNet(Network):
    """U-Net with ``hidden = (c28, c14, c7)`` channels at full, half and quarter resolution.

    Down: 3x3 conv to c28, ``blocks_per_level`` residual blocks per resolution, a stride-2 3x3 conv
    between resolutions. Bottom (quarter resolution): optional self-attention, then one more residual
    block. Up: nearest-neighbour upsampling and a 3x3 conv, concatenation with the skip from the same
    resolution on the way down, ``blocks_per_level`` residual blocks. Out: GroupNorm, activation, 3x3
    conv to ``channels``. The conditioning vector (time MLP output, plus label embedding) is projected
    and added in every residual block."""

    def __init__(
        self,
        hidden: tuple[int, int, int] = (32, 64, 64),
        blocks_per_level: int = 1,
        attention: bool = False,
        activation: str = "silu",
        image_size: int = 28,
        channels: int = 1,
        n_freqs: int = 16,
        time_hidden: int = 128,
        num_classes: int | None = None,
    ):
        super().__init__(image_size, channels, num_classes)
        hidden = tuple(int(h) for h in hidden)
        if len(hidden) != 3 or any(h < 1 for h in hidden):
            raise ValueError(f"hidden must be 3 positive channel counts (full, 1/2 and 1/4 resolution), got {hidden}")
        if image_size % 4 != 0:
            raise ValueError(f"image_size must be divisible by 4 (two 2x downsamplings), got {image_size}")
        if blocks_per_level < 1:
            raise ValueError(f"blocks_per_level must be >= 1, got {blocks_per_level}")
        act = activation_class(activation, UNET_ACTIVATIONS)
        c28, c14, c7 = hidden
        self.time_embedding = SinusoidalEmbedding(n_freqs)
        self.time_mlp = nn.Sequential(
            nn.Linear(self.time_embedding.dim, time_hidden), act(), nn.Linear(time_hidden, time_hidden))
        self.add_label_embedding(time_hidden)
        self.cond_act = act()

        def blocks(c_in: int, c_out: int) -> nn.ModuleList:
            return nn.ModuleList(ResBlock(c_in if i == 0 else c_out, c_out, time_hidden, act)
                                 for i in range(blocks_per_level))

        self.inp = nn.Conv2d(channels, c28, 3, padding=1)
        self.down28 = blocks(c28, c28)
        self.to14 = nn.Conv2d(c28, c28, 3, stride=2, padding=1)
        self.down14 = blocks(c28, c14)
        self.to7 = nn.Conv2d(c14, c14, 3, stride=2, padding=1)
        self.down7 = blocks(c14, c7)
        self.attention = SelfAttention(c7) if attention else None
        self.mid = ResBlock(c7, c7, time_hidden, act)
        self.up14 = nn.Conv2d(c7, c14, 3, padding=1)
        self.dec14 = blocks(2 * c14, c14)
        self.up28 = nn.Conv2d(c14, c28, 3, padding=1)
        self.dec28 = blocks(2 * c28, c28)
        self.out_norm, self.out_act = nn.GroupNorm(group_count(c28), c28), act()
        # The output conv keeps PyTorch's default initialisation rather than zeros: the CNN it is compared
        # with does the same, so the chapters compare architectures, not initialisations; with Adam a
        # zero start is forgotten within a few steps anyway, and this way every parameter gets a gradient
        # from the very first step.
        self.out = nn.Conv2d(c28, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t_frac: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        self.check_inputs(x, t_frac, label)
        cond = self.cond_act(self.conditioning(t_frac, label))
        h = self.inp(x)
        for block in self.down28:
            h = block(h, cond)
        skip28 = h
        h = self.to14(h)
        for block in self.down14:
            h = block(h, cond)
        skip14 = h
        h = self.to7(h)
        for block in self.down7:
            h = block(h, cond)
        if self.attention is not None:
            h = self.attention(h)
        h = self.mid(h, cond)
        h = self.up14(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = torch.cat([h, skip14.to(h.dtype)], dim=1)
        for block in self.dec14:
            h = block(h, cond)
        h = self.up28(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = torch.cat([h, skip28.to(h.dtype)], dim=1)
        for block in self.dec28:
            h = block(h, cond)
        return self.out(self.out_act(self.out_norm(h)))
