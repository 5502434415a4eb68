"""The networks the book trains, all called the same way::

    prediction = model(x, t_frac, label=None)

``x`` is a batch of images (B, C, H, W) (MNIST: C = 1, H = W = 28); ``t_frac = t / T`` is a float tensor
of shape (B,); ``label`` is an optional integer tensor (B,) of classes 0..num_classes-1 for a network
built with ``num_classes``, where -1 means "no label" for that image and ``label=None`` means "no label"
for the whole batch (an unconditional network accepts only ``label=None``). The prediction is shaped like
``x``: the noise for DDPM, the clean image for cold diffusion; the network does not know which.
``model.extra_loss()`` is a term the training loop adds to its loss (zero except for the VAE).

Build one by name with :func:`build_network` (``"cnn"``, ``"unet"``, ``"autoencoder"``, ``"vae"``).
"""
from __future__ import annotations

import inspect

from torch import nn

from .autoencoder import Autoencoder, VariationalAutoencoder
from .base import Network
from .cnn import CourseworkCNN
from .embeddings import LabelEmbedding, SinusoidalEmbedding
from .unet import UNet

NETWORKS: dict[str, type[Network]] = {
    "cnn": CourseworkCNN,
    "unet": UNet,
    "autoencoder": Autoencoder,
    "vae": VariationalAutoencoder,
}


def build_network(kind: str, **options) -> Network:
    """The network ``NETWORKS[kind]`` built with ``options`` (its constructor's keyword arguments)."""
    if kind not in NETWORKS:
        raise ValueError(f"unknown network {kind!r}; choose one of {sorted(NETWORKS)}")
    cls = NETWORKS[kind]
    accepted = list(inspect.signature(cls).parameters)
    for name in options:
        if name not in accepted:
            raise ValueError(f"network {kind!r} takes no option {name!r}; its options are {', '.join(accepted)}")
    return cls(**options)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "NETWORKS", "Network", "build_network", "count_parameters", "SinusoidalEmbedding", "LabelEmbedding",
    "CourseworkCNN", "UNet", "Autoencoder", "VariationalAutoencoder",
]
