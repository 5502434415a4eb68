"""Exponential moving average (EMA) of a network's weights, as Ho et al. (2020) sample from.

After every optimiser step, theta_ema <- decay * theta_ema + (1 - decay) * theta: the EMA averages
roughly the last 1 / (1 - decay) steps (1,000 for decay 0.999), smoothing out the noise of the last
updates. Training keeps the EMA copy in the checkpoint; sampling uses it when it is there.

An EMA that starts at the initial weights lags behind them for the first few thousand steps: after
n steps the average still gives weight decay**n to the random initialisation (0.999**1000 = 37%),
which short runs never outgrow. With warm-up (:func:`warmup_decay`) the decay at step n is
min(decay, (1 + n) / (10 + n)), as in TensorFlow's ``ExponentialMovingAverage(num_updates=...)``:
the average forgets the start quickly and reaches the full decay after about 10,000 steps.
"""
from __future__ import annotations

import copy

import torch


def ema_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A frozen copy of ``model`` to hold the average (starts equal to the model)."""
    return copy.deepcopy(model).eval().requires_grad_(False)


def warmup_decay(decay: float, step: int) -> float:
    """The decay applied at optimiser step ``step`` (0 for the first) under warm-up."""
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_ema(ema_model: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta, parameter by parameter (buffers copied)."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"decay must lie in [0, 1], got {decay}")
    torch._foreach_lerp_(list(ema_model.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)
    for b_ema, b in zip(ema_model.buffers(), model.buffers()):
        b_ema.copy_(b)
