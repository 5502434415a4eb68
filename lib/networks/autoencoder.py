"""Autoencoder-style networks: squeeze the image to a small vector, add the conditioning there, decode,
and let a few output convolutions combine the decoded map with the input itself."""
from __future__ import annotations

import torch
from torch import nn

from .base import Network, activation_class, group_count
from .embeddings import SinusoidalEmbedding

AUTOENCODER_ACTIVATIONS = ("gelu", "silu")


def conv_norm_act(c_in: int, c_out: int, act: type[nn.Module], stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1),
                         nn.GroupNorm(group_count(c_out), c_out), act())


class Autoencoder(Network):
    """Encoder (3x3 convs at 28, then stride 2 to 14 and to 7, with ``hidden = (c28, c14)`` channels)
    -> a ``latent``-dimensional vector, to which the projected conditioning vector (time, plus label when
    conditional) is added -> decoder (linear to c14 x 7 x 7, upsample + conv to 14, then to 28) ->
    the decoded map concatenated with the input x -> ``out_convs`` 3x3 convolutions to ``channels``."""

    latent_outputs = 1  # numbers the encoder gives per latent dimension (the VAE gives mu and log-variance)

    def __init__(
        self,
        hidden: tuple[int, int] = (32, 64),
        latent: int = 64,
        activation: str = "gelu",
        num_classes: int | None = None,
        out_convs: int = 2,
        image_size: int = 28,
        channels: int = 1,
        n_freqs: int = 16,
        time_hidden: int = 128,
    ):
        super().__init__(image_size, channels, num_classes)
        hidden = tuple(int(h) for h in hidden)
        if len(hidden) != 2 or any(h < 1 for h in hidden):
            raise ValueError(f"hidden must be 2 positive channel counts (full and 1/2 resolution), got {hidden}")
        if latent < 1 or out_convs < 1:
            raise ValueError(f"latent and out_convs must be >= 1, got latent={latent}, out_convs={out_convs}")
        if image_size % 4 != 0:
            raise ValueError(f"image_size must be divisible by 4 (two 2x downsamplings), got {image_size}")
        act = activation_class(activation, AUTOENCODER_ACTIVATIONS)
        c28, c14 = hidden
        side = image_size // 4
        self.latent = latent
        self.encoder = nn.Sequential(
            conv_norm_act(channels, c28, act),
            conv_norm_act(c28, c14, act, stride=2),
            conv_norm_act(c14, c14, act, stride=2),
            nn.Flatten(),
        )
        self.to_latent = nn.Linear(c14 * side * side, self.latent_outputs * latent)
        self.time_embedding = SinusoidalEmbedding(n_freqs)
        self.time_mlp = nn.Sequential(
            nn.Linear(self.time_embedding.dim, time_hidden), act(), nn.Linear(time_hidden, time_hidden))
        self.add_label_embedding(time_hidden)
        self.cond_proj = nn.Sequential(act(), nn.Linear(time_hidden, latent))
        self.decoder = nn.Sequential(
            nn.Linear(latent, c14 * side * side), act(),
            nn.Unflatten(1, (c14, side, side)),
            nn.Upsample(scale_factor=2, mode="nearest"), conv_norm_act(c14, c14, act),
            nn.Upsample(scale_factor=2, mode="nearest"), conv_norm_act(c14, c28, act),
        )
        self.out = nn.Sequential(
            *(conv_norm_act(c28 + channels if i == 0 else c28, c28, act) for i in range(out_convs - 1)),
            nn.Conv2d(c28 + channels if out_convs == 1 else c28, channels, 3, padding=1),
        )

    def bottleneck(self, features: torch.Tensor) -> torch.Tensor:
        """The latent vector of the flattened encoder features."""
        return self.to_latent(features)

    def forward(self, x: torch.Tensor, t_frac: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        self.check_inputs(x, t_frac, label)
        z = self.bottleneck(self.encoder(x))
        z = z + self.cond_proj(self.conditioning(t_frac, label)).to(z.dtype)
        h = self.decoder(z)
        return self.out(torch.cat([h, x.to(h.dtype)], dim=1))


class VariationalAutoencoder(Autoencoder):
    """The :class:`Autoencoder` with a VAE bottleneck: the encoder gives mu and log sigma^2 per latent
    dimension; training draws z = mu + sigma * eps (eps from the global torch RNG), evaluation takes z = mu.
    :meth:`extra_loss` is ``kl_weight`` times the mean over latent dimensions (and the batch) of
    KL(N(mu, sigma^2) || N(0, 1)) from the last training-mode forward pass."""

    latent_outputs = 2

    def __init__(
        self,
        hidden: tuple[int, int] = (32, 64),
        latent: int = 64,
        activation: str = "gelu",
        num_classes: int | None = None,
        out_convs: int = 2,
        kl_weight: float = 1e-3,
        image_size: int = 28,
        channels: int = 1,
        n_freqs: int = 16,
        time_hidden: int = 128,
    ):
        if kl_weight < 0:
            raise ValueError(f"kl_weight must be >= 0, got {kl_weight}")
        super().__init__(hidden, latent, activation, num_classes, out_convs, image_size, channels, n_freqs, time_hidden)
        self.kl_weight = kl_weight
        self.kl: torch.Tensor | None = None  # mean KL of the last training-mode forward pass

    def bottleneck(self, features: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.to_latent(features).float().chunk(2, dim=1)  # fp32 even under autocast
        if not self.training:
            self.kl = None
            return mu
        logvar = logvar.clamp(-30.0, 20.0)  # keeps exp(logvar) finite
        # KL(N(mu, sigma^2) || N(0, 1)) = (mu^2 + sigma^2 - 1 - log sigma^2) / 2, per latent dimension
        self.kl = 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar).mean()
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def extra_loss(self) -> torch.Tensor:
        if not self.training or self.kl is None:
            return super().extra_loss()
        return self.kl_weight * self.kl

    def __getstate__(self):  # copy.deepcopy (e.g. for an EMA model) cannot copy a tensor inside a graph
        state = super().__getstate__()
        return {**state, "kl": None}
