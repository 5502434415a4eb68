import math

import pytest
import torch

from lib import schedules
from lib.schedules import make_schedule


def test_linear_matches_ho_et_al():
    s = schedules.linear()
    assert s.T == 1000 and s.betas.shape == (1001,)
    assert s.betas[0] == 0 and s.alpha_bar[0] == 1
    assert s.betas[1].item() == pytest.approx(1e-4) and s.betas[-1].item() == pytest.approx(0.02)
    # alpha_bar_T = prod_t (1 - beta_t), about 4.04e-5 for the DDPM defaults
    assert s.alpha_bar[-1].item() == pytest.approx(4.0358e-5, rel=1e-3)
    expected = math.prod(1 - (1e-4 + (0.02 - 1e-4) * i / 999) for i in range(1000))
    assert s.alpha_bar[-1].item() == pytest.approx(expected, rel=1e-9)
    assert torch.allclose(s.alphas, 1 - s.betas)


def test_quadratic_and_sigmoid_endpoints_and_monotone():
    for fn in (schedules.quadratic, schedules.sigmoid):
        s = fn(T=500)
        assert s.betas[1].item() == pytest.approx(1e-4, rel=0.05)
        assert s.betas[-1].item() == pytest.approx(0.02, rel=0.05)
        assert bool((s.betas[2:] >= s.betas[1:-1]).all())
    q = schedules.quadratic(T=3, beta_1=0.01, beta_T=0.09)
    assert q.betas[1:].tolist() == pytest.approx([0.01, 0.04, 0.09])


def test_cosine_follows_nichol_dhariwal():
    T, s_ = 1000, 0.008
    s = schedules.cosine(T)
    f = lambda t: math.cos(((t / T + s_) / (1 + s_)) * math.pi / 2) ** 2
    for t in (1, 10, 250, 500, 900):
        assert s.alpha_bar[t].item() == pytest.approx(f(t) / f(0), rel=1e-9)
    assert s.betas[1:].max().item() <= 0.999
    assert s.betas[-1].item() == pytest.approx(0.999)  # clipped at the end


def test_posterior_terms():
    s = schedules.linear(T=100)
    t = torch.arange(2, 101)
    ab, ab_prev, beta = s.alpha_bar[t], s.alpha_bar[t - 1], s.betas[t]
    assert torch.allclose(s.posterior_variance[t], (1 - ab_prev) / (1 - ab) * beta)
    assert s.posterior_variance[1].item() == pytest.approx(0.0, abs=1e-15)  # beta_tilde_1 = 0
    assert bool((s.posterior_variance[1:] <= s.betas[1:] + 1e-15).all())  # beta_tilde_t <= beta_t
    # the posterior mean coefficients reproduce mu_tilde for x0 = 1, x_t = 1 (Ho et al. eq. 7)
    mu = s.posterior_mean_coef_x0[t] + s.posterior_mean_coef_xt[t]
    assert torch.allclose(mu, ab_prev.sqrt() * beta / (1 - ab) + s.alphas[t].sqrt() * (1 - ab_prev) / (1 - ab))


def test_posterior_is_true_conditional():
    """q(x_{t-1} | x_t, x0) from Bayes: compare with a Monte-Carlo estimate of the joint."""
    s = schedules.linear(T=50, beta_1=0.01, beta_T=0.2)
    t, x0 = 20, 0.7
    g = torch.Generator().manual_seed(0)
    n = 400_000
    x_prev = s.alpha_bar[t - 1].sqrt() * x0 + (1 - s.alpha_bar[t - 1]).sqrt() * torch.randn(n, generator=g, dtype=torch.float64)
    x_t = s.alphas[t].sqrt() * x_prev + s.betas[t].sqrt() * torch.randn(n, generator=g, dtype=torch.float64)
    # linear regression of x_prev on x_t gives the posterior mean slope; residual variance the posterior variance
    cov = torch.cov(torch.stack([x_t, x_prev]))
    slope = cov[0, 1] / cov[0, 0]
    resid = cov[1, 1] - slope * cov[0, 1]
    assert slope.item() == pytest.approx(s.posterior_mean_coef_xt[t].item(), rel=0.02)
    assert resid.item() == pytest.approx(s.posterior_variance[t].item(), rel=0.02)


def test_schedule_is_immutable():
    s = schedules.linear(T=10)
    with pytest.raises(AttributeError):
        s.T = 5


@pytest.mark.parametrize("kwargs, match", [
    (dict(T=0), "T .*>= 1"),
    (dict(T=-3), "T .*>= 1"),
    (dict(T=2.5), "T .*integer"),
    (dict(beta_1=0.0), "beta_1 must lie strictly between 0 and 1"),
    (dict(beta_T=1.0), "beta_T must lie strictly between 0 and 1"),
    (dict(beta_1=-0.1), "beta_1"),
    (dict(beta_1=0.05, beta_T=0.01), "must not exceed beta_T"),
])
def test_bad_parameters_raise_clear_errors(kwargs, match):
    for fn in (schedules.linear, schedules.quadratic, schedules.sigmoid):
        with pytest.raises(ValueError, match=match):
            fn(**kwargs)


def test_unknown_name_and_bad_cosine():
    with pytest.raises(ValueError, match="unknown schedule 'cosin'.*cosine"):
        make_schedule("cosin")
    with pytest.raises(ValueError, match="T .*>= 1"):
        make_schedule("cosine", T=0)
    with pytest.raises(ValueError, match="bad parameters for the cosine schedule"):
        make_schedule("cosine", beta_1=0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        schedules.from_betas("custom", torch.tensor([0.1, 1.5]))


def test_make_schedule_by_name():
    for name in schedules.SCHEDULES:
        s = make_schedule(name, T=20)
        assert s.name == name and s.T == 20
        assert bool((s.alpha_bar[1:] < s.alpha_bar[:-1]).all())
