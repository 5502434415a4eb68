"""The forward-process interface that DDPM's Gaussian noise and every cold degradation implement.

A forward process takes clean images x0 to x_t, t = 0..T (t = 0 is x0 itself). Training, checkpoints
and the sampling loop see only this interface, so they never know which process they run:

- ``degrade(x0, t, generator) -> (x_t, target)``: the training pair at integer steps ``t``; the
  network is trained to output ``target`` from (x_t, t / T). Gaussian noise returns (z_t, eps);
  a cold degradation returns (D(x0, t), x0).
- ``prior(shape, generator)``: the start x_T of sampling.
- ``predict_x0(x_t, t, output)``: the clean image the network's output implies.
- ``steps``: the sampler steps this process offers, by name. A step is called as
  ``step(process, output, t, t_prev, x_t, generator) -> (x_prev, x0_hat)`` and goes from step t
  down to step t_prev < t (t_prev = t - 1 unless the timesteps are respaced).
- ``state_dict()`` / ``load_state_dict()``: what the process learned from data (the prior of a cold
  process); stored in the checkpoint. A Gaussian process learns nothing and stores ``{}``.

Algorithm 1 of Ho et al. (training) is :func:`training_loss`, written once for every process.
"""
from __future__ import annotations

import abc
from typing import Callable

import torch
import torch.nn.functional as F

from .precision import autocast

LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss, "smooth_l1": F.smooth_l1_loss}

#: A sampler step: (process, network output, t, t_prev, x_t, generator) -> (x_{t_prev}, x0_hat).
Step = Callable[["ForwardProcess", torch.Tensor, int, int, torch.Tensor, torch.Generator],
                tuple[torch.Tensor, torch.Tensor]]


class ForwardProcess(abc.ABC):
    """Base class of forward processes (see the module docstring for the contract)."""

    #: number of steps; x_T is the fully degraded image
    T: int
    #: the sampler step used when none is named
    default_step: str
    #: name -> step function
    steps: dict[str, Step]

    @abc.abstractmethod
    def degrade(self, x0: torch.Tensor, t: torch.Tensor, generator: torch.Generator | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """The training pair (x_t, target) for integer steps ``t`` of shape (B,)."""

    @abc.abstractmethod
    def prior(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """A batch of starting points x_T, drawn with ``generator``."""

    @abc.abstractmethod
    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        """The clean image implied by the network's ``output`` at steps ``t``."""

    def fit(self, images: torch.Tensor, generator: torch.Generator) -> None:
        """Learn what sampling needs from the training images (nothing, by default)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"{type(self).__name__} stores no state, got keys {sorted(state)}")

    def get_step(self, name: str | None) -> Step:
        name = name or self.default_step
        if name not in self.steps:
            raise ValueError(f"{type(self).__name__} has no sampler {name!r}; choose one of {sorted(self.steps)}")
        return self.steps[name]


def check_steps(T: int, t: torch.Tensor) -> None:
    """Integer steps in 0..T, or a one-line error."""
    if t.is_floating_point():
        raise TypeError("timesteps t must be integers in 0..T, not floats")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) > T):
        raise ValueError(f"timesteps must lie in 0..{T}, got range {int(t.min())}..{int(t.max())}")


def training_loss(
    model: torch.nn.Module,
    process: ForwardProcess,
    x0: torch.Tensor,
    generator: torch.Generator | None = None,
    loss: str = "mse",
    precision: str = "fp32",
    label: torch.Tensor | None = None,
    label_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Algorithm 1 for any forward process: draw t ~ U{1..T}, degrade x0 to (x_t, target), and
    return loss(network(x_t, t / T, label), target), plus the network's own ``extra_loss`` if it has
    one (the VAE-style decoder's KL term), plus ``label_loss(x0_hat, label)`` when given, on the images
    that carry a label (x0_hat: the clean image the output implies). Randomness comes from
    ``generator`` in a fixed order (t, then what the process draws), so a run is reproducible and
    exactly resumable."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    gen_device = generator.device if generator is not None else x0.device
    t = torch.randint(1, process.T + 1, (x0.shape[0],), generator=generator, device=gen_device).to(x0.device)
    x_t, target = process.degrade(x0, t, generator)
    with autocast(precision, x0.device):
        output = model(x_t, t.float() / process.T) if label is None else model(x_t, t.float() / process.T, label)
    value = LOSSES[loss](output.float(), target)
    extra = getattr(model, "extra_loss", None)
    if extra is not None:
        value = value + extra()
    if label_loss is not None and label is not None:
        labelled = label >= 0
        if bool(labelled.any()):
            x0_hat = process.predict_x0(x_t[labelled], t[labelled], output.float()[labelled])
            value = value + label_loss(x0_hat, label[labelled])
    return value


def _check_bins(bins, process: ForwardProcess) -> None:
    if not isinstance(bins, int) or not 1 <= bins <= process.T:
        raise ValueError(f"bins must be an integer in 1..T ({process.T}), got {bins!r}")


def predictions_by_timestep(model: torch.nn.Module, process: ForwardProcess, x0: torch.Tensor, bins: int = 20,
                            precision: str = "fp32", seed: int = 0, batch_size: int = 500, progress: bool = False,
                            desc: str = "by t"):
    """The model's outputs on Algorithm 1's training pairs, with t restricted to each of ``bins``
    equal ranges of 1..T: every image of ``x0`` once per bin, at a t drawn uniformly in the bin (seeded:
    equal seeds give equal t and noise for every model). Yields ``(b, edges, x0, t, x_t, target,
    output)`` per batch (``output`` in fp32; the model in eval mode and no gradients meanwhile)."""
    _check_bins(bins, process)
    from tqdm.auto import tqdm

    edges = torch.linspace(0, process.T, bins + 1).round().long()
    g = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        for b in tqdm(range(bins), desc=desc, disable=not progress, leave=False):
            for i in range(0, x0.shape[0], batch_size):
                x = x0[i:i + batch_size]
                t = torch.randint(int(edges[b]) + 1, int(edges[b + 1]) + 1, (x.shape[0],), generator=g)
                x_t, target = process.degrade(x, t.to(x.device), g)
                # no_grad around the call only: a context held across the yield would switch gradients
                # off in the caller too, until the generator is exhausted or collected
                with torch.no_grad(), autocast(precision, x.device):
                    output = model(x_t, t.float().to(x.device) / process.T)
                yield b, edges, x, t, x_t, target, output.float()
    finally:
        model.train(was_training)


def loss_by_timestep(
    model: torch.nn.Module,
    process: ForwardProcess,
    x0: torch.Tensor,
    bins: int = 20,
    loss: str = "mse",
    precision: str = "fp32",
    seed: int = 0,
    batch_size: int = 500,
    progress: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where in the process a model struggles: the loss of Algorithm 1 with t restricted to each of
    ``bins`` equal ranges of 1..T (:func:`predictions_by_timestep`). Returns ``(edges, losses)``: bin b
    covers edges[b] < t <= edges[b + 1]; losses[b] is its mean loss."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    _check_bins(bins, process)
    losses = torch.zeros(bins, dtype=torch.float64)
    edges = None
    for b, edges, x, _, _, target, output in predictions_by_timestep(model, process, x0, bins, precision, seed,
                                                                     batch_size, progress, desc="loss by t"):
        losses[b] += float(LOSSES[loss](output, target, reduction="sum")) / x[0].numel() / x0.shape[0]
    return edges, losses
