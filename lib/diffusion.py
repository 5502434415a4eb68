"""DDPM's Gaussian forward process (Ho et al. 2020) and its sampler steps.

The closed form ``q_sample``, one forward step ``q_step``, the x0 estimate ``predict_x0``, the
reverse steps (ancestral, Algorithm 2; DDIM, Song et al. 2021; both work on respaced timesteps), and
:class:`GaussianDiffusion`, which offers them through the :mod:`lib.processes` interface. The
network is always passed in; nothing here builds one, and the loop that calls the steps is
:func:`lib.sampling.sample`.

Timesteps are integers t = 1..T (t = 0 is clean data); the network sees ``t / T``.
"""
from __future__ import annotations

import math

import torch

from .processes import ForwardProcess, check_steps
from .schedules import Schedule
#: Choices of the reverse-process standard deviation sigma_t (Ho et al. Sec. 3.2):
#: "beta" (sigma_t^2 = beta_t), "posterior" (sigma_t^2 = beta_tilde_t) and "zero" (only the mean of
#: each step: deterministic given z_T, but not DDIM, and over-smoothed).
SIGMAS = ("beta", "posterior", "zero")


def _coef(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Gather per-sample schedule values at integer timesteps ``t`` and shape them to broadcast."""
    return values.to(like.device)[t.to(like.device)].to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


def log_snr(schedule: Schedule) -> torch.Tensor:
    """log(alpha_bar_t / (1 - alpha_bar_t)) for t = 1..T (float64): the signal-to-noise ratio of z_t on a
    log scale, one axis on which the steps of any T and schedule can be compared (t alone cannot: t = 50
    of T = 100 is another noise level than t = 50 of T = 1000)."""
    ab = schedule.alpha_bar[1:].double()
    return (ab / (1.0 - ab)).log()


def prior_kl(schedule: Schedule, x0: torch.Tensor) -> torch.Tensor:
    """Per image of ``x0`` (in the model's [-1, 1] scale), KL(q(z_T | x0) || N(0, I)) in nats: the DDPM
    paper's L_T, how far the end of the forward process lies from the N(0, I) that sampling starts from.
    Per pixel it is (alpha_bar_T x0^2 - alpha_bar_T - log(1 - alpha_bar_T)) / 2, zero only when
    alpha_bar_T = 0."""
    ab = float(schedule.alpha_bar[-1])
    if not 0.0 <= ab < 1.0:
        raise ValueError(f"alpha_bar_T must lie in [0, 1) for the prior term, got {ab}")
    x = x0.double().flatten(1)
    return (0.5 * (ab * x ** 2 - ab - math.log1p(-ab))).sum(1)


def q_sample(schedule: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Closed-form forward process: z_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps."""
    t = torch.as_tensor(t)
    check_steps(schedule.T, t)
    t = t.long().reshape(-1).expand(x0.shape[0])
    if noise.shape != x0.shape:
        raise ValueError(f"noise shape {tuple(noise.shape)} must equal x0 shape {tuple(x0.shape)}")
    return _coef(schedule.sqrt_alpha_bar, t, x0) * x0 + _coef(schedule.sqrt_one_minus_alpha_bar, t, x0) * noise


def q_step(schedule: Schedule, z_prev: torch.Tensor, t: int, noise: torch.Tensor) -> torch.Tensor:
    """One forward step q(z_t | z_{t-1}) = N(sqrt(1 - beta_t) z_{t-1}, beta_t I)."""
    if not 1 <= t <= schedule.T:
        raise ValueError(f"t must lie in 1..{schedule.T}, got {t}")
    beta = float(schedule.betas[t])
    return (1.0 - beta) ** 0.5 * z_prev + beta**0.5 * noise


def predict_x0(schedule: Schedule, z_t: torch.Tensor, t: torch.Tensor, eps_hat: torch.Tensor) -> torch.Tensor:
    """Invert the closed form: x0_hat = (z_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t)."""
    return (z_t - _coef(schedule.sqrt_one_minus_alpha_bar, t, z_t) * eps_hat) / _coef(schedule.sqrt_alpha_bar, t, z_t)


def _pair(schedule: Schedule, t: int, t_prev: int) -> tuple[float, float, float]:
    """(beta, alpha, alpha_bar_t) of the step from t to t_prev. For t_prev = t - 1 these are the
    schedule's own beta_t and alpha_t; for a respaced step (t_prev < t - 1) the betas are recomputed
    so that the chain over the kept timesteps has the same alpha_bar: alpha = alpha_bar_t /
    alpha_bar_{t_prev}, beta = 1 - alpha."""
    if not 0 <= t_prev < t <= schedule.T:
        raise ValueError(f"a step must go from t in 1..{schedule.T} down to 0 <= t_prev < t, got {t} -> {t_prev}")
    abar = float(schedule.alpha_bar[t])
    if t_prev == t - 1:
        return float(schedule.betas[t]), float(schedule.alphas[t]), abar
    alpha = abar / float(schedule.alpha_bar[t_prev])
    return 1.0 - alpha, alpha, abar


def sigma(schedule: Schedule, t: int, kind: str = "beta", t_prev: int | None = None) -> float:
    """The reverse-process standard deviation sigma_t of the step t -> t_prev (default t - 1) for
    ``kind`` in :data:`SIGMAS`: sqrt(beta_t), sqrt(beta_tilde_t) with
    beta_tilde_t = (1 - alpha_bar_{t_prev}) / (1 - alpha_bar_t) * beta_t, or 0."""
    t_prev = t - 1 if t_prev is None else t_prev
    beta, _, abar = _pair(schedule, t, t_prev)
    if kind == "beta":
        return beta**0.5
    if kind == "posterior":
        if t_prev == t - 1:
            return float(schedule.posterior_variance[t]) ** 0.5
        return ((1.0 - float(schedule.alpha_bar[t_prev])) / (1.0 - abar) * beta) ** 0.5
    if kind == "zero":
        return 0.0
    raise ValueError(f"unknown sigma {kind!r}; choose one of {SIGMAS}")


def ddpm_step(
    schedule: Schedule, eps_hat: torch.Tensor, t: int, z_t: torch.Tensor, noise: torch.Tensor | None,
    sigma_kind: str = "beta", t_prev: int | None = None, clip_x0: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Algorithm 2 from z_t to z_{t_prev} (default t - 1); returns (z_{t_prev}, x0_hat).

    z_{t_prev} = (z_t - beta / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha) + sigma * noise, with the
    step's beta and alpha from :func:`_pair` and no noise added on the last step (t_prev = 0).

    ``clip_x0=True`` takes the mean in its other, equal form, the posterior mean of q(z_{t_prev} | z_t, x0)
    at x0_hat, sqrt(alpha_bar_prev) beta / (1 - alpha_bar_t) x0_hat + sqrt(alpha) (1 - alpha_bar_prev) /
    (1 - alpha_bar_t) z_t, with x0_hat clipped to the data range [-1, 1] first, as the DDPM authors' code
    samples (``clip_denoised``). Unclipped the two forms agree; clipped, an error of eps_hat can no longer
    be multiplied by 1 / sqrt(alpha), which is large where beta is near 1.
    """
    t_prev = t - 1 if t_prev is None else t_prev
    beta, alpha, abar = _pair(schedule, t, t_prev)
    x0_hat = (z_t - (1.0 - abar) ** 0.5 * eps_hat) / abar**0.5
    if clip_x0:
        x0_hat = x0_hat.clamp(-1.0, 1.0)
        abar_prev = float(schedule.alpha_bar[t_prev])
        mean = (abar_prev**0.5 * beta * x0_hat + alpha**0.5 * (1.0 - abar_prev) * z_t) / (1.0 - abar)
    else:
        mean = (z_t - beta / (1.0 - abar) ** 0.5 * eps_hat) / alpha**0.5
    s = sigma(schedule, t, sigma_kind, t_prev)
    if t_prev > 0 and s > 0:
        if noise is None:
            raise ValueError("ddpm_step needs noise before the last step unless sigma_kind='zero'")
        mean = mean + s * noise
    return mean, x0_hat


def ddim_step(
    schedule: Schedule, eps_hat: torch.Tensor, t: int, z_t: torch.Tensor, noise: torch.Tensor | None,
    eta: float = 0.0, t_prev: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One DDIM step (Song et al. 2021, Eq. 12) from z_t to z_{t_prev}; returns (z_{t_prev}, x0_hat).

    x0_hat = (z_t - sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_bar_t),
    sigma = eta * sqrt((1 - alpha_bar_prev) / (1 - alpha_bar_t)) * sqrt(1 - alpha_bar_t / alpha_bar_prev),
    z_prev = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev - sigma^2) eps_hat + sigma * noise.
    eta = 0 is deterministic given z_T; eta = 1 is the ancestral sampler with the posterior variance.
    """
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must lie in [0, 1], got {eta}")
    t_prev = t - 1 if t_prev is None else t_prev
    _pair(schedule, t, t_prev)  # validates the step
    abar, abar_prev = float(schedule.alpha_bar[t]), float(schedule.alpha_bar[t_prev])
    x0_hat = (z_t - (1.0 - abar) ** 0.5 * eps_hat) / abar**0.5
    s = eta * ((1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev)) ** 0.5
    z_prev = abar_prev**0.5 * x0_hat + max(1.0 - abar_prev - s * s, 0.0) ** 0.5 * eps_hat
    if s > 0:
        if noise is None:
            raise ValueError("ddim_step needs noise when eta > 0")
        z_prev = z_prev + s * noise
    return z_prev, x0_hat


def _noise(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(like.shape, generator=generator, device=generator.device).to(like.device)


def ancestral(process: "GaussianDiffusion", eps_hat, t, t_prev, z_t, generator, sigma_kind: str = "beta",
              clip_x0: bool = False):
    """Sampler step "ddpm": Algorithm 2, noise drawn from ``generator`` before every step but the last
    (``clip_x0``: the mean from x0_hat clipped to [-1, 1], see :func:`ddpm_step`)."""
    if sigma_kind not in SIGMAS:
        raise ValueError(f"unknown sigma {sigma_kind!r}; choose one of {SIGMAS}")
    noise = _noise(z_t, generator) if t_prev > 0 else None
    return ddpm_step(process.schedule, eps_hat, t, z_t, noise, sigma_kind, t_prev, clip_x0)


def ddim(process: "GaussianDiffusion", eps_hat, t, t_prev, z_t, generator, eta: float = 0.0):
    """Sampler step "ddim": DDIM with ``eta``; noise is drawn only when it is used (eta > 0, t_prev > 0)."""
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must lie in [0, 1], got {eta}")
    noise = _noise(z_t, generator) if eta > 0 and t_prev > 0 else None
    return ddim_step(process.schedule, eps_hat, t, z_t, noise, eta, t_prev)


class GaussianDiffusion(ForwardProcess):
    """DDPM's forward process: z_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps; the network
    predicts eps; sampling starts from z_T ~ N(0, I)."""

    default_step = "ddpm"
    steps = {"ddpm": ancestral, "ddim": ddim}

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        self.T = schedule.T

    def __repr__(self) -> str:
        return f"GaussianDiffusion({self.schedule.name}, T={self.T})"

    def degrade(self, x0, t, generator=None):
        gen_device = generator.device if generator is not None else x0.device
        noise = torch.randn(x0.shape, generator=generator, device=gen_device).to(x0.device)
        return q_sample(self.schedule, x0, t, noise), noise

    def prior(self, shape, generator):
        return torch.randn(shape, generator=generator, device=generator.device)

    def predict_x0(self, x_t, t, output):
        return predict_x0(self.schedule, x_t, torch.as_tensor(t).long().reshape(-1).expand(x_t.shape[0]), output)
