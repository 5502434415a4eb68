"""DDPM (Ho et al. 2020): the closed-form forward process, the training loss (Algorithm 1) and
ancestral sampling (Algorithm 2). The network is always passed in; nothing here builds one.

Timesteps are integers t = 1..T (t = 0 is clean data); the network sees ``t / T``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .precision import autocast
from .schedules import Schedule

LOSSES = {"mse": F.mse_loss, "l1": F.l1_loss, "smooth_l1": F.smooth_l1_loss}
#: Choices of the reverse-process standard deviation sigma_t (Ho et al. Sec. 3.2):
#: "beta" (sigma_t^2 = beta_t), "posterior" (sigma_t^2 = beta_tilde_t) and "zero" (only the mean of
#: each step: deterministic given z_T, but not DDIM, and over-smoothed).
SIGMAS = ("beta", "posterior", "zero")


def _coef(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Gather per-sample schedule values at integer timesteps ``t`` and shape them to broadcast."""
    return values.to(like.device)[t.to(like.device)].to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


def _check_t(schedule: Schedule, t: torch.Tensor) -> None:
    if t.dtype in (torch.float16, torch.float32, torch.float64, torch.bfloat16):
        raise TypeError("timesteps t must be integers in 0..T, not floats")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) > schedule.T):
        raise ValueError(f"timesteps must lie in 0..{schedule.T}, got range {int(t.min())}..{int(t.max())}")


def q_sample(schedule: Schedule, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Closed-form forward process: z_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps."""
    t = torch.as_tensor(t)
    _check_t(schedule, t)
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


def training_loss(
    model: torch.nn.Module,
    schedule: Schedule,
    x0: torch.Tensor,
    generator: torch.Generator | None = None,
    loss: str = "mse",
    precision: str = "fp32",
) -> torch.Tensor:
    """Algorithm 1: draw t ~ U{1..T} and eps ~ N(0, I), return loss(eps_theta(z_t, t), eps)."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    gen_device = generator.device if generator is not None else x0.device
    t = torch.randint(1, schedule.T + 1, (x0.shape[0],), generator=generator, device=gen_device).to(x0.device)
    noise = torch.randn(x0.shape, generator=generator, device=gen_device).to(x0.device)
    z_t = q_sample(schedule, x0, t, noise)
    with autocast(precision, x0.device):
        eps_hat = model(z_t, t.float() / schedule.T)
    return LOSSES[loss](eps_hat.float(), noise)


def sigma(schedule: Schedule, t: int, kind: str = "beta") -> float:
    """The reverse-process standard deviation sigma_t for ``kind`` in :data:`SIGMAS`."""
    if kind == "beta":
        return float(schedule.betas[t]) ** 0.5
    if kind == "posterior":
        return float(schedule.posterior_variance[t]) ** 0.5
    if kind == "zero":
        return 0.0
    raise ValueError(f"unknown sigma {kind!r}; choose one of {SIGMAS}")


def ddpm_step(
    schedule: Schedule, eps_hat: torch.Tensor, t: int, z_t: torch.Tensor, noise: torch.Tensor | None,
    sigma_kind: str = "beta",
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Algorithm 2 from z_t to z_{t-1}; returns (z_{t-1}, x0_hat).

    z_{t-1} = (z_t - beta_t / sqrt(1 - alpha_bar_t) eps_hat) / sqrt(alpha_t) + sigma_t * noise,
    with no noise added at t = 1.
    """
    beta, alpha, abar = (float(v[t]) for v in (schedule.betas, schedule.alphas, schedule.alpha_bar))
    mean = (z_t - beta / (1.0 - abar) ** 0.5 * eps_hat) / alpha**0.5
    x0_hat = (z_t - (1.0 - abar) ** 0.5 * eps_hat) / abar**0.5
    s = sigma(schedule, t, sigma_kind)
    if t > 1 and s > 0:
        if noise is None:
            raise ValueError("ddpm_step needs noise for t > 1 unless sigma_kind='zero'")
        mean = mean + s * noise
    return mean, x0_hat


@dataclass
class SampleResult:
    """Output of :func:`sample`. ``images`` is z_0 in the model range [-1, 1].

    With ``trajectory=True``: ``timesteps`` lists the t of each stored frame (T first, 0 last),
    ``trajectory`` holds z_t at those t, shape (frames, N, C, H, W), and ``x0_trajectory`` the
    network's x0_hat at the step taken from each frame (the last frame repeats the final sample).
    """

    images: torch.Tensor
    timesteps: list[int] | None = None
    trajectory: torch.Tensor | None = None
    x0_trajectory: torch.Tensor | None = None


def sample_images(model: torch.nn.Module, schedule: Schedule, n: int, generator: torch.Generator,
                  image_shape: tuple[int, ...] = (1, 28, 28), batch_size: int = 256, **kwargs) -> torch.Tensor:
    """``n`` final samples (model range), drawn by :func:`sample` in batches of ``batch_size`` from one
    generator; ``kwargs`` go to :func:`sample` (sigma_kind, precision, device, progress)."""
    chunks = []
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        chunks.append(sample(model, schedule, (m, *image_shape), generator, **kwargs).images)
    return torch.cat(chunks)


@torch.no_grad()
def sample(
    model: torch.nn.Module,
    schedule: Schedule,
    shape: tuple[int, ...],
    generator: torch.Generator,
    sigma_kind: str = "beta",
    trajectory: bool = False,
    keep_every: int = 1,
    precision: str = "fp32",
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> SampleResult:
    """Algorithm 2 (ancestral sampling) from z_T ~ N(0, I) down to z_0.

    ``generator`` seeds z_T and every step's noise, so equal seeds give equal samples.
    ``trajectory=True`` also stores every ``keep_every``-th z_t and x0_hat (t = T and t = 0 always).
    """
    if not isinstance(generator, torch.Generator):
        raise TypeError("sample needs a torch.Generator (e.g. torch.Generator().manual_seed(0)) for reproducibility")
    if len(shape) != 4 or any(int(s) < 1 for s in shape):
        raise ValueError(f"shape must be (N, C, H, W) with positive sizes, got {tuple(shape)}")
    if sigma_kind not in SIGMAS:
        raise ValueError(f"unknown sigma {sigma_kind!r}; choose one of {SIGMAS}")
    if keep_every < 1:
        raise ValueError(f"keep_every must be >= 1, got {keep_every}")
    device = torch.device(device)
    was_training = model.training
    model.eval()
    z = torch.randn(shape, generator=generator, device=generator.device).to(device)
    frames, x0s, ts = [], [], []
    try:
        for t in tqdm(range(schedule.T, 0, -1), desc="sampling", disable=not progress, leave=False):
            t_frac = torch.full((shape[0],), t / schedule.T, device=device)
            with autocast(precision, device):
                eps_hat = model(z, t_frac)
            eps_hat = eps_hat.float()
            noise = torch.randn(shape, generator=generator, device=generator.device).to(device) if t > 1 else None
            z_prev, x0_hat = ddpm_step(schedule, eps_hat, t, z, noise, sigma_kind)
            if trajectory and ((schedule.T - t) % keep_every == 0 or t == schedule.T):
                ts.append(t)
                frames.append(z.cpu())
                x0s.append(x0_hat.cpu())
            z = z_prev
    finally:
        model.train(was_training)
    if not trajectory:
        return SampleResult(images=z.cpu())
    ts.append(0)
    frames.append(z.cpu())
    x0s.append(z.cpu())
    return SampleResult(z.cpu(), ts, torch.stack(frames), torch.stack(x0s))
