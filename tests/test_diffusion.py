import math
import pytest
import torch

from lib import diffusion, schedules
from lib.diffusion import GaussianDiffusion, ddpm_step, q_sample, q_step
from lib.processes import training_loss
from lib.sampling import sample


class ZeroEps(torch.nn.Module):
    """A dummy network that always predicts eps = 0."""

    def forward(self, z, t_frac):
        return torch.zeros_like(z)


class ScaledInput(torch.nn.Module):
    """A dummy network eps_hat = c * z_t * (1 + t_frac), with one learnable c."""

    def __init__(self):
        super().__init__()
        self.c = torch.nn.Parameter(torch.tensor(0.5))

    def forward(self, z, t_frac):
        return self.c * z * (1 + t_frac.view(-1, 1, 1, 1))


def test_forward_closed_form_statistics():
    s = schedules.linear()
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1, 2, 2), 0.8)
    for t in (1, 100, 500, 1000):
        z = q_sample(s, x0, torch.tensor(t), torch.randn(x0.shape, generator=g))
        ab = s.alpha_bar[t].item()
        assert z.mean().item() == pytest.approx(ab**0.5 * 0.8, abs=0.01)
        assert z.var().item() == pytest.approx(1 - ab, abs=0.01 + 0.02 * (1 - ab))


def test_iterating_forward_steps_matches_closed_form():
    """Composing q(z_t | z_{t-1}) t times has the closed form's mean and variance."""
    s = schedules.linear(T=200, beta_1=1e-3, beta_T=0.05)
    g = torch.Generator().manual_seed(1)
    x0 = torch.full((50000,), -0.5, dtype=torch.float64)
    z = x0.clone()
    for t in range(1, 121):
        z = q_step(s, z, t, torch.randn(z.shape, generator=g, dtype=torch.float64))
    ab = s.alpha_bar[120].item()
    assert z.mean().item() == pytest.approx(ab**0.5 * -0.5, abs=0.01)
    assert z.var().item() == pytest.approx(1 - ab, rel=0.02)


def test_q_sample_validates():
    s = schedules.linear(T=10)
    x = torch.zeros(2, 1, 4, 4)
    with pytest.raises(ValueError, match="0..10"):
        q_sample(s, x, torch.tensor([3, 11]), torch.zeros_like(x))
    with pytest.raises(TypeError, match="integers"):
        q_sample(s, x, torch.tensor([0.5, 0.2]), torch.zeros_like(x))
    with pytest.raises(ValueError, match="noise shape"):
        q_sample(s, x, torch.tensor([1, 2]), torch.zeros(2, 1, 4, 3))
    assert torch.equal(q_sample(s, x + 1, torch.tensor([0, 0]), torch.randn_like(x)), x + 1)  # t=0 is clean


def test_ddpm_step_with_known_eps_recovers_x0():
    s = schedules.linear(T=100)
    x0 = torch.linspace(-1, 1, 16).view(1, 1, 4, 4)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    for t in (1, 37, 100):
        z_t = q_sample(s, x0, torch.tensor(t), eps)
        z_prev, x0_hat = ddpm_step(s, eps, t, z_t, None, sigma_kind="zero")
        assert torch.allclose(x0_hat, x0, atol=1e-4)
        # with the true eps the mean equals the posterior mean mu_tilde(z_t, x0)
        mu = s.posterior_mean_coef_x0[t].item() * x0 + s.posterior_mean_coef_xt[t].item() * z_t
        assert torch.allclose(z_prev, mu, atol=1e-4)


def test_clipped_ddpm_step_is_the_posterior_mean_of_the_clipped_x0_and_equals_the_plain_one_inside_the_range():
    s = schedules.cosine(T=400)  # ends with beta_T = 0.999: 1 / sqrt(alpha_T) = 31.6
    g = torch.Generator().manual_seed(0)
    z_t = torch.randn(2, 1, 4, 4, generator=g, dtype=torch.float64)  # x0 = z_t / sqrt(abar_T) - ...: 8,000 x
    for t, t_prev in ((400, 399), (200, 199), (200, 150), (3, 0)):  # plain, respaced and last steps
        abar = s.alpha_bar[t].item()
        x0 = torch.rand(2, 1, 4, 4, generator=g, dtype=torch.float64) * 1.8 - 0.9  # inside [-1, 1]
        eps_hat = (z_t - abar**0.5 * x0) / (1 - abar) ** 0.5  # the eps that predicts exactly x0
        plain, x0_plain = ddpm_step(s, eps_hat, t, z_t, None, "zero", t_prev)
        clipped, x0_clipped = ddpm_step(s, eps_hat, t, z_t, None, "zero", t_prev, clip_x0=True)
        assert torch.allclose(clipped, plain, atol=1e-4) and torch.allclose(x0_clipped, x0, atol=1e-4)
    # an eps_hat off by 0.1 at t = T: the plain mean multiplies the error by beta / sqrt(alpha (1 - abar)),
    # about 31.6; the clipped mean stays within the data range scaled by sqrt(alpha_bar_prev) plus z_t's share
    t = 400
    beta, alpha, abar = s.betas[t].item(), s.alphas[t].item(), s.alpha_bar[t].item()
    abar_prev = s.alpha_bar[t - 1].item()
    eps_hat = z_t + 0.1
    plain, _ = ddpm_step(s, eps_hat, t, z_t, None, "zero")
    clipped, x0_hat = ddpm_step(s, eps_hat, t, z_t, None, "zero", clip_x0=True)
    assert x0_hat.abs().max() == 1.0  # the unclipped x0_hat is about -0.1 / sqrt(abar) = -800
    expected = (abar_prev**0.5 * beta * x0_hat + alpha**0.5 * (1 - abar_prev) * z_t) / (1 - abar)
    assert torch.allclose(clipped, expected)
    err = (plain - clipped).abs().mean().item()
    # the two differ by the posterior's x0 coefficient times (x0_hat unclipped + 1), x0_hat = -0.1 / sqrt(abar)
    assert err == pytest.approx(abar_prev**0.5 * beta / (1 - abar) * (0.1 / abar**0.5 - 1), rel=1e-3)
    assert err > 30 * 0.1  # the plain step multiplies the error by about 1 / sqrt(alpha_T) = 31.6


def test_sigma_choices():
    s = schedules.linear(T=10)
    assert diffusion.sigma(s, 5, "beta") == pytest.approx(s.betas[5].item() ** 0.5)
    assert diffusion.sigma(s, 5, "posterior") == pytest.approx(s.posterior_variance[5].item() ** 0.5)
    assert diffusion.sigma(s, 5, "zero") == 0.0
    with pytest.raises(ValueError, match="unknown sigma"):
        diffusion.sigma(s, 5, "large")


def test_sampler_shapes_seeding_and_determinism():
    s = schedules.linear(T=30)
    model = ScaledInput()
    a = sample(model, GaussianDiffusion(s), (3, 1, 5, 5), torch.Generator().manual_seed(7))
    b = sample(model, GaussianDiffusion(s), (3, 1, 5, 5), torch.Generator().manual_seed(7))
    c = sample(model, GaussianDiffusion(s), (3, 1, 5, 5), torch.Generator().manual_seed(8))
    assert a.images.shape == (3, 1, 5, 5) and a.trajectory is None
    assert torch.equal(a.images, b.images)
    assert not torch.allclose(a.images, c.images)
    d = sample(model, GaussianDiffusion(s), (3, 1, 5, 5), torch.Generator().manual_seed(7), trajectory=True)
    assert torch.equal(d.images, a.images)
    assert d.timesteps[0] == 30 and d.timesteps[-1] == 0 and len(d.timesteps) == 31
    assert d.trajectory.shape == (31, 3, 1, 5, 5) and d.x0_trajectory.shape == (31, 3, 1, 5, 5)
    assert torch.equal(d.trajectory[-1], a.images)
    e = sample(model, GaussianDiffusion(s), (3, 1, 5, 5), torch.Generator().manual_seed(7), trajectory=True, keep_every=7)
    assert e.timesteps == [30, 23, 16, 9, 2, 0]
    assert torch.equal(e.images, a.images)


def test_sampler_pinned_numbers_on_zero_model():
    """With eps_hat = 0 and sigma = 0, z_0 = z_T / sqrt(alpha_bar_T): a value known in closed form."""
    s = schedules.linear(T=50)
    g = torch.Generator().manual_seed(3)
    z_T = torch.randn((2, 1, 3, 3), generator=torch.Generator().manual_seed(3))
    out = sample(ZeroEps(), GaussianDiffusion(s), (2, 1, 3, 3), g, sigma_kind="zero").images
    expected = z_T / torch.prod(s.alphas[1:]).sqrt().float()
    assert torch.allclose(out, expected, rtol=1e-4)


def test_sampler_bad_input():
    s = schedules.linear(T=5)
    with pytest.raises(TypeError, match="torch.Generator"):
        sample(ZeroEps(), GaussianDiffusion(s), (1, 1, 2, 2), generator=0)
    with pytest.raises(ValueError, match="shape must be"):
        sample(ZeroEps(), GaussianDiffusion(s), (1, 2, 2), torch.Generator())
    with pytest.raises(ValueError, match="unknown sigma"):
        sample(ZeroEps(), GaussianDiffusion(s), (1, 1, 2, 2), torch.Generator(), sigma_kind="big")


def test_sampler_restores_training_mode():
    m = ScaledInput().train()
    sample(m, GaussianDiffusion(schedules.linear(T=3)), (1, 1, 2, 2), torch.Generator())
    assert m.training


def test_training_loss_values_and_options():
    s = schedules.linear(T=100)
    x0 = torch.zeros(256, 1, 8, 8)  # 16,384 noise values: the sample mean's std is about 0.011
    # eps_hat = 0: the MSE equals E[eps^2] = 1 and the L1 equals E|eps| = sqrt(2/pi)
    mse = training_loss(ZeroEps(), GaussianDiffusion(s), x0, torch.Generator().manual_seed(0), "mse")
    l1 = training_loss(ZeroEps(), GaussianDiffusion(s), x0, torch.Generator().manual_seed(0), "l1")
    assert mse.item() == pytest.approx(1.0, abs=0.05)
    assert l1.item() == pytest.approx((2 / torch.pi) ** 0.5, abs=0.03)
    assert training_loss(ZeroEps(), GaussianDiffusion(s), x0, torch.Generator().manual_seed(0), "smooth_l1").item() < mse.item()
    with pytest.raises(ValueError, match="unknown loss"):
        training_loss(ZeroEps(), GaussianDiffusion(s), x0, None, "huber")
    m = ScaledInput()
    loss = training_loss(m, GaussianDiffusion(s), x0, torch.Generator().manual_seed(0))
    loss.backward()
    assert m.c.grad is not None and m.c.grad.abs() > 0


def test_log_snr_and_prior_kl_against_closed_forms():
    sched = schedules.linear(T=100)
    ab = sched.alpha_bar[1:].double()
    snr = diffusion.log_snr(sched)
    assert snr.shape == (100,) and torch.all(snr[1:] < snr[:-1])  # noisier at every step
    assert snr[0].item() == pytest.approx(torch.log(ab[0] / (1 - ab[0])).item())
    # T = 100 with the default beta range ends far from noise: alpha_bar_T = prod(1 - beta) ~ exp(-sum beta)
    abar_T = float(sched.alpha_bar[-1])
    assert abar_T == pytest.approx(0.3636, abs=1e-3)
    x0 = torch.rand(3, 1, 4, 4) * 2 - 1
    kl = diffusion.prior_kl(sched, x0)
    q = torch.distributions.Normal(abar_T ** 0.5 * x0.double(), (1 - abar_T) ** 0.5)
    ref = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).flatten(1).sum(1)
    assert torch.allclose(kl, ref, rtol=1e-9)
    assert torch.allclose(diffusion.prior_kl(sched, torch.zeros(1, 16)),  # x0 = 0: 16 (-a - log(1 - a)) / 2
                          torch.tensor([8 * (-abar_T - math.log(1 - abar_T))], dtype=torch.float64))
    assert diffusion.prior_kl(schedules.cosine(T=1000), x0).max() < 1e-6  # the cosine schedule ends at noise
