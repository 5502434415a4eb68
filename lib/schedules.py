"""Noise schedules for DDPM, each a pure function returning one immutable :class:`Schedule`.

Indexing follows the paper: every tensor has length T + 1 and is indexed by the timestep
t = 0, 1, ..., T, with t = 0 the clean data (beta_0 = 0, alpha_bar_0 = 1). The posterior terms at
t = 0 are unused and set to 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True, eq=False)
class Schedule:
    """All per-timestep quantities of a DDPM noise schedule (float64, length T + 1)."""

    name: str
    T: int
    betas: torch.Tensor  # beta_t
    alphas: torch.Tensor  # alpha_t = 1 - beta_t
    alpha_bar: torch.Tensor  # alpha_bar_t = prod_{s<=t} alpha_s
    posterior_variance: torch.Tensor  # beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t
    posterior_mean_coef_x0: torch.Tensor  # sqrt(alpha_bar_{t-1}) * beta_t / (1 - alpha_bar_t)
    posterior_mean_coef_xt: torch.Tensor  # sqrt(alpha_t) * (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)

    @property
    def sqrt_alpha_bar(self) -> torch.Tensor:
        return self.alpha_bar.sqrt()

    @property
    def sqrt_one_minus_alpha_bar(self) -> torch.Tensor:
        return (1.0 - self.alpha_bar).sqrt()

    def describe(self) -> dict:
        """Small summary used in plots and configuration records."""
        return {"name": self.name, "T": self.T, "beta_1": float(self.betas[1]),
                "beta_T": float(self.betas[-1]), "alpha_bar_T": float(self.alpha_bar[-1])}


def _check_T(T: int) -> None:
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T (the number of diffusion steps) must be an integer >= 1, got {T!r}")


def _check_endpoints(beta_1: float, beta_T: float) -> None:
    for label, b in (("beta_1", beta_1), ("beta_T", beta_T)):
        if not (0.0 < b < 1.0):
            raise ValueError(f"{label} must lie strictly between 0 and 1, got {b}")
    if beta_1 > beta_T:
        raise ValueError(f"beta_1 ({beta_1}) must not exceed beta_T ({beta_T}): noise grows with t")


def from_betas(name: str, betas_1_to_T: torch.Tensor) -> Schedule:
    """Build a :class:`Schedule` from beta_1..beta_T; checks that every beta lies in (0, 1)."""
    b = torch.as_tensor(betas_1_to_T, dtype=torch.float64).flatten()
    if b.numel() < 1:
        raise ValueError("a schedule needs at least one beta (T >= 1)")
    if not bool(((b > 0) & (b < 1)).all()):
        bad = b[~((b > 0) & (b < 1))][0].item()
        raise ValueError(f"every beta_t must lie strictly between 0 and 1; found {bad}")
    betas = torch.cat([torch.zeros(1, dtype=torch.float64), b])
    alphas = 1.0 - betas
    alpha_bar = torch.cumprod(alphas, dim=0)
    alpha_bar_prev = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar[:-1]])
    one_minus = 1.0 - alpha_bar
    safe = torch.where(one_minus > 0, one_minus, torch.ones_like(one_minus))  # only t = 0 is 0
    post_var = torch.where(one_minus > 0, (1.0 - alpha_bar_prev) / safe * betas, torch.zeros_like(b[:1]))
    coef_x0 = torch.where(one_minus > 0, alpha_bar_prev.sqrt() * betas / safe, torch.zeros_like(b[:1]))
    coef_xt = torch.where(one_minus > 0, alphas.sqrt() * (1.0 - alpha_bar_prev) / safe, torch.zeros_like(b[:1]))
    return Schedule(name, b.numel(), betas, alphas, alpha_bar, post_var, coef_x0, coef_xt)


def linear(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> Schedule:
    """Ho et al. (2020): beta_t evenly spaced from beta_1 to beta_T."""
    _check_T(T)
    _check_endpoints(beta_1, beta_T)
    return from_betas("linear", torch.linspace(beta_1, beta_T, T, dtype=torch.float64))


def quadratic(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> Schedule:
    """sqrt(beta_t) evenly spaced from sqrt(beta_1) to sqrt(beta_T)."""
    _check_T(T)
    _check_endpoints(beta_1, beta_T)
    return from_betas("quadratic", torch.linspace(beta_1**0.5, beta_T**0.5, T, dtype=torch.float64) ** 2)


def sigmoid(T: int = 1000, beta_1: float = 1e-4, beta_T: float = 0.02) -> Schedule:
    """beta_t = beta_1 + (beta_T - beta_1) * r(u_t), u_t evenly spaced on [-6, 6], where
    r(u) = (sigmoid(u) - sigmoid(-6)) / (sigmoid(6) - sigmoid(-6)) rescales the sigmoid to [0, 1]
    so that the first and last betas are exactly beta_1 and beta_T."""
    _check_T(T)
    _check_endpoints(beta_1, beta_T)
    u = torch.linspace(-6.0, 6.0, T, dtype=torch.float64)
    lo, hi = torch.sigmoid(torch.tensor(-6.0, dtype=torch.float64)), torch.sigmoid(torch.tensor(6.0, dtype=torch.float64))
    r = (torch.sigmoid(u) - lo) / (hi - lo) if T > 1 else torch.ones(1, dtype=torch.float64)
    return from_betas("sigmoid", beta_1 + (beta_T - beta_1) * r)


def cosine(T: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> Schedule:
    """Nichol & Dhariwal (2021): alpha_bar_t = f(t) / f(0), f(t) = cos(((t/T + s) / (1 + s)) * pi/2)^2,
    beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}, clipped at ``max_beta``."""
    _check_T(T)
    if s <= 0:
        raise ValueError(f"the cosine offset s must be positive, got {s}")
    if not (0.0 < max_beta < 1.0):
        raise ValueError(f"max_beta must lie strictly between 0 and 1, got {max_beta}")
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos(((t / T + s) / (1 + s)) * math.pi / 2) ** 2
    abar = f / f[0]
    betas = (1.0 - abar[1:] / abar[:-1]).clamp(min=1e-12, max=max_beta)
    return from_betas("cosine", betas)


SCHEDULES: dict[str, Callable[..., Schedule]] = {
    "linear": linear, "quadratic": quadratic, "cosine": cosine, "sigmoid": sigmoid,
}


def make_schedule(name: str, T: int = 1000, **params) -> Schedule:
    """Look a schedule up by name (``linear``, ``quadratic``, ``cosine``, ``sigmoid``)."""
    try:
        fn = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}") from None
    try:
        return fn(T=T, **params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for the {name} schedule: {exc}") from None
