"""What every network shares: the input check, the conditioning vector, the extra loss."""
from __future__ import annotations

import torch
from torch import nn

from .embeddings import LabelEmbedding

ACTIVATIONS = {"gelu": nn.GELU, "selu": nn.SELU, "silu": nn.SiLU}


def activation_class(name: str, allowed: tuple[str, ...]) -> type[nn.Module]:
    """The activation called ``name``, if it is one of ``allowed``."""
    if name not in allowed:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(allowed)}")
    return ACTIVATIONS[name]


def group_count(channels: int, max_groups: int = 8) -> int:
    """The largest number of GroupNorm groups, at most ``max_groups``, that divides ``channels``."""
    return next(g for g in range(min(max_groups, channels), 0, -1) if channels % g == 0)


class Network(nn.Module):
    """Base class of the book's networks, all called as ``model(x, t_frac, label=None)``.

    A subclass sets ``self.time_embedding`` (a :class:`SinusoidalEmbedding`) and ``self.time_mlp``,
    calls :meth:`add_label_embedding` with the width of the time MLP's output, and in ``forward`` calls
    :meth:`check_inputs` then :meth:`conditioning`."""

    def __init__(self, image_size: int, channels: int, num_classes: int | None):
        super().__init__()
        if image_size < 1 or channels < 1:
            raise ValueError(f"image_size and channels must be positive, got {image_size} and {channels}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be a positive number of classes or None (unconditional), got {num_classes}")
        self.image_size, self.channels, self.num_classes = image_size, channels, num_classes
        self.label_embedding: LabelEmbedding | None = None

    def add_label_embedding(self, dim: int) -> None:
        """Create the label embedding (``dim`` wide) if the network is conditional; no parameters otherwise."""
        if self.num_classes is not None:
            self.label_embedding = LabelEmbedding(self.num_classes, dim)

    def check_inputs(self, x: torch.Tensor, t_frac: torch.Tensor, label: torch.Tensor | None) -> None:
        expected = (self.channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"expected images of shape (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}")
        if tuple(t_frac.shape) != (x.shape[0],):
            raise ValueError(f"expected t_frac of shape ({x.shape[0]},) (one t/T per image), got {tuple(t_frac.shape)}")
        if label is not None:
            if self.num_classes is None:
                raise ValueError("this network is unconditional (num_classes=None); pass label=None")
            if tuple(label.shape) != (x.shape[0],):
                raise ValueError(f"expected label of shape ({x.shape[0]},) (one class per image), got {tuple(label.shape)}")

    def conditioning(self, t_frac: torch.Tensor, label: torch.Tensor | None) -> torch.Tensor:
        """The time MLP's output, plus the label embedding when the network is conditional
        (``label=None``: "no label", the same as a label of -1 for every image)."""
        c = self.time_mlp(self.time_embedding(t_frac))
        if self.label_embedding is not None:
            if label is None:
                label = torch.full(t_frac.shape, -1, dtype=torch.long, device=t_frac.device)
            c = c + self.label_embedding(label).to(c.dtype)
        return c

    def extra_loss(self) -> torch.Tensor:
        """A term the training loop adds to the diffusion loss; zero unless a subclass says otherwise."""
        return torch.zeros((), device=next(self.parameters()).device)
