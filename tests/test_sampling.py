"""The sampling loop and its steps, checked against a case with a known answer.

For data x0 ~ N(mu, Sigma) the best noise predictor is closed-form: z_t ~ N(sqrt(abar) mu, C_t) with
C_t = abar Sigma + (1 - abar) I and Cov(eps, z_t) = sqrt(1 - abar) I, so
E[eps | z_t] = sqrt(1 - abar) C_t^{-1} (z_t - sqrt(abar) mu). Sampling with that exact predictor and
no training must give back the data's mean and covariance, for every sampler and respacing.
"""
import math

import pytest
import torch

from lib import diffusion, schedules
from lib.diffusion import GaussianDiffusion, ddim_step, ddpm_step
from lib.sampling import sample, sample_images, timesteps

MU = torch.tensor([0.5, -0.3, 0.0, 0.8], dtype=torch.float64)
_A = torch.tensor([[0.5, 0.1, 0.0, 0.2], [0.0, 0.4, 0.1, 0.0], [0.1, 0.0, 0.3, 0.1], [0.0, 0.2, 0.0, 0.35]],
                  dtype=torch.float64)
SIGMA = _A @ _A.T + 0.01 * torch.eye(4, dtype=torch.float64)  # eigenvalues about 0.02-0.4


class OptimalEps(torch.nn.Module):
    """The exact E[eps | z_t] for Gaussian data, on images of shape (1, 2, 2)."""

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def forward(self, z, t_frac):
        t = int(round(float(t_frac[0]) * self.schedule.T))  # the loop gives every image the same t
        abar = float(self.schedule.alpha_bar[t])
        cov = abar * SIGMA + (1 - abar) * torch.eye(4, dtype=torch.float64)
        gain = (1 - abar) ** 0.5 * torch.linalg.inv(cov)  # eps_hat = gain @ (z - sqrt(abar) mu)
        centred = z.reshape(-1, 4).double() - abar**0.5 * MU
        return (centred @ gain.T).reshape(z.shape).to(z.dtype)


class Fn(torch.nn.Module):
    """A function of (z, t_frac) as a network."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, z, t_frac):
        return self.fn(z, t_frac)


def moments(x):
    x = x.reshape(x.shape[0], 4).double()
    return x.mean(0), torch.cov(x.T)


N = 20000
SE_MEAN = (SIGMA.diagonal() / N).sqrt().max().item()  # standard error of a mean, about 0.0045


@pytest.mark.parametrize("step, steps, options, cov_tol", [
    ("ddpm", None, {}, 0.012),
    ("ddpm", None, {"sigma_kind": "posterior"}, 0.012),
    ("ddim", None, {"eta": 0.0}, 0.012),
    ("ddim", None, {"eta": 1.0}, 0.012),
    ("ddpm", 100, {}, 0.015),  # respaced: observed 0.008
])
def test_exact_predictor_recovers_the_data_distribution(step, steps, options, cov_tol):
    s = schedules.linear()
    process = GaussianDiffusion(s)
    g = torch.Generator().manual_seed(0)
    x = sample(OptimalEps(s), process, (N, 1, 2, 2), g, step=step, steps=steps, **options).images
    mean, cov = moments(x)
    assert (mean - MU).abs().max().item() < 5 * SE_MEAN
    assert (cov - SIGMA).abs().max().item() < cov_tol


def test_ddim_with_few_steps_shrinks_the_spread_by_a_first_order_error():
    """DDIM's deterministic steps discretise an ODE: with K steps the samples' variance falls short of
    the data's by an error that shrinks like 1/K (observed: 11.3% at 50 steps, 2.8% at 200)."""
    s = schedules.linear()
    shortfall = {}
    for k in (50, 200):
        x = sample(OptimalEps(s), GaussianDiffusion(s), (N, 1, 2, 2), torch.Generator().manual_seed(0),
                   step="ddim", steps=k).images
        shortfall[k] = 1 - (moments(x)[1].diagonal().sum() / SIGMA.diagonal().sum()).item()
    assert 0.08 < shortfall[50] < 0.15
    assert 3.0 < shortfall[50] / shortfall[200] < 5.0


def test_sampling_without_noise_in_the_reverse_steps_shrinks_the_spread():
    """sigma_t = 0 (not DDIM) drops the noise the reverse chain needs: the samples' variance
    collapses far below the data's, which the test above would catch as a failure."""
    s = schedules.linear()
    x = sample(OptimalEps(s), GaussianDiffusion(s), (4000, 1, 2, 2), torch.Generator().manual_seed(0),
               sigma_kind="zero").images
    _, cov = moments(x)
    assert cov.diagonal().sum() < 0.5 * SIGMA.diagonal().sum()


def test_respacing_over_all_timesteps_is_the_plain_sampler():
    """Ho's per-step formula (the schedule's own beta_t) against the loop with an explicit list of
    every timestep, on a real network's output: the same samples from the same seed."""
    s = schedules.linear(T=50)
    model = torch.nn.Conv2d(1, 1, 3, padding=1)
    wrapped = Fn(lambda z, t_frac: model(z) * (1 + t_frac.view(-1, 1, 1, 1)))
    plain = sample(wrapped, GaussianDiffusion(s), (8, 1, 6, 6), torch.Generator().manual_seed(3)).images
    g = torch.Generator().manual_seed(3)
    z = torch.randn((8, 1, 6, 6), generator=g)
    with torch.no_grad():
        for t in range(s.T, 0, -1):
            eps = wrapped(z, torch.full((8,), t / s.T))
            noise = torch.randn(z.shape, generator=g) if t > 1 else None
            beta, abar = float(s.betas[t]), float(s.alpha_bar[t])
            mean = (z - beta / math.sqrt(1 - abar) * eps) / math.sqrt(1 - beta)
            z = mean + math.sqrt(beta) * noise if noise is not None else mean
    assert torch.allclose(plain, z, atol=1e-5)
    respaced = sample(wrapped, GaussianDiffusion(s), (8, 1, 6, 6), torch.Generator().manual_seed(3), steps=s.T).images
    assert torch.equal(respaced, plain)


def test_a_respaced_step_recomputes_beta_from_alpha_bar():
    s = schedules.linear(T=100)
    z, eps = torch.randn(2, 1, 3, 3), torch.randn(2, 1, 3, 3)
    got, _ = ddpm_step(s, eps, 80, z, None, "zero", t_prev=60)
    alpha = float(s.alpha_bar[80] / s.alpha_bar[60])
    want = (z - (1 - alpha) / math.sqrt(1 - float(s.alpha_bar[80])) * eps) / math.sqrt(alpha)
    assert torch.allclose(got, want, atol=1e-6)
    with pytest.raises(ValueError, match="t_prev < t"):
        ddpm_step(s, eps, 60, z, None, "zero", t_prev=60)


def test_ddim_eta_zero_is_deterministic_and_ignores_the_generator_after_the_start():
    s = schedules.linear(T=40)
    model = Fn(lambda z, t: 0.3 * z)
    start = torch.randn(4, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    a = sample(model, GaussianDiffusion(s), (4, 1, 5, 5), torch.Generator().manual_seed(1), step="ddim", start=start)
    b = sample(model, GaussianDiffusion(s), (4, 1, 5, 5), torch.Generator().manual_seed(2), step="ddim", start=start)
    assert torch.equal(a.images, b.images)
    c = sample(model, GaussianDiffusion(s), (4, 1, 5, 5), torch.Generator().manual_seed(1), step="ddim",
               start=start, eta=1.0)
    assert not torch.allclose(a.images, c.images)


def test_ddim_with_eta_one_is_the_ancestral_step_with_the_posterior_variance():
    s = schedules.linear(T=100)
    z, eps, noise = torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4), torch.randn(3, 1, 4, 4)
    for t in (100, 50, 2):
        a, x0a = ddim_step(s, eps, t, z, noise, eta=1.0)
        b, x0b = ddpm_step(s, eps, t, z, noise, "posterior")
        assert torch.allclose(a, b, atol=1e-5) and torch.allclose(x0a, x0b)


def test_timesteps():
    assert timesteps(5) == [5, 4, 3, 2, 1, 0]
    assert timesteps(1000, 5) == [1000, 750, 500, 251, 1, 0]
    assert timesteps(10, 1) == [10, 0]
    assert len(timesteps(1000, 999)) == 1000
    with pytest.raises(ValueError, match="cannot exceed"):
        timesteps(100, 101)
    with pytest.raises(ValueError, match="positive"):
        timesteps(100, 0)


def test_trajectory_keeps_x0_hat_of_every_kept_step():
    s = schedules.linear(T=20)
    r = sample(Fn(lambda z, t: 0.1 * z), GaussianDiffusion(s), (2, 1, 3, 3), torch.Generator().manual_seed(0),
               trajectory=True, keep_every=5)
    assert r.timesteps == [20, 15, 10, 5, 0]
    assert r.trajectory.shape == (5, 2, 1, 3, 3) and r.x0_trajectory.shape == (5, 2, 1, 3, 3)
    assert torch.equal(r.trajectory[-1], r.images)


class Conditional(torch.nn.Module):
    """Predicts eps = label-dependent constant (no label: 0); exposes num_classes like lib's networks."""

    num_classes = 3

    def forward(self, z, t_frac, label=None):
        if label is None:
            label = torch.full((z.shape[0],), -1)
        return (label.float() + 1).view(-1, 1, 1, 1) * 0.01 * torch.ones_like(z)


def test_guidance_weighs_the_labelled_output_against_the_unlabelled_one():
    from lib.sampling import predict

    model, x, t = Conditional(), torch.zeros(2, 1, 2, 2), torch.full((2,), 0.5)
    label = torch.tensor([1, 2])
    cond, uncond = model(x, t, label), model(x, t, torch.tensor([-1, -1]))
    for w in (0.0, 1.0, 3.0):
        assert torch.allclose(predict(model, x, t, label, w, "fp32"), uncond + w * (cond - uncond))


def test_sampler_argument_errors():
    s = schedules.linear(T=10)
    p = GaussianDiffusion(s)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="no sampler 'euler'"):
        sample(Fn(lambda z, t: z), p, (1, 1, 2, 2), g, step="euler")
    with pytest.raises(ValueError, match="unconditional"):
        sample(Fn(lambda z, t: z), p, (1, 1, 2, 2), g, label=3)
    with pytest.raises(ValueError, match="guidance needs a label"):
        sample(Fn(lambda z, t: z), p, (1, 1, 2, 2), g, guidance=2.0)
    with pytest.raises(ValueError, match="eta"):
        sample(Fn(lambda z, t: z), p, (1, 1, 2, 2), g, step="ddim", eta=1.5)
    with pytest.raises(TypeError, match="Generator"):
        sample(Fn(lambda z, t: z), p, (1, 1, 2, 2), 0)
    assert sample_images(Conditional(), p, 5, g, image_shape=(1, 2, 2), batch_size=2, label=1).shape == (5, 1, 2, 2)
