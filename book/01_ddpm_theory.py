# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Denoising diffusion (DDPM): theory and a trained model
#
# ```{admonition} In this chapter
# :class: tip
# - the **forward process** that turns a digit into noise, and its closed form, checked numerically;
# - four **noise schedules** and what they do to $\bar\alpha_t$;
# - the **training objective** (predict the noise) and the **sampling algorithm** (undo it step by step);
# - the results of the model this book ships: loss curves, samples during training, and a reverse
#   trajectory you can step through.
# ```
#
# Everything here calls the book's library `lib`; no algorithm is re-implemented in the notebook.
#
# **Images are scaled to $[-1, 1]$**: MNIST's pixels, 0 (black background) to 255 (white ink), become
# $x = \text{pixel}/127.5 - 1$, so the background is $-1$ and the ink $+1$. The noise
# $\epsilon \sim \mathcal{N}(0, I)$ is on that same scale; the signal-to-noise ratios below and the
# clipping of images to $[-1, 1]$ for display depend on it.
#
# **Notation.** The latent $z$ follows {cite:t}`prince2023understanding`; $\beta_t$, $\alpha_t$,
# $\bar\alpha_t$ and the algorithms are those of {cite:t}`ho2020denoising`. Prince writes $\alpha_t$
# for what Ho calls $\bar\alpha_t$; we use Ho's letters throughout:
#
# | this book (and Ho et al.) | Prince | library name | meaning |
# |---|---|---|---|
# | $x$ or $x_0$ | $x$ | `x0` | a clean image, in $[-1, 1]$ |
# | $z_t$ | $z_t$ | `z_t` (`x_t` in code shared with other processes) | the image after $t$ noising steps, $z_0 = x$ |
# | $\beta_t$ | $\beta_t$ | `schedule.betas[t]` | variance of the noise added at step $t$ |
# | $\alpha_t = 1 - \beta_t$ | $1 - \beta_t$ | `schedule.alphas[t]` | share of the variance one step keeps |
# | $\bar\alpha_t = \prod_{s \le t} \alpha_s$ | $\alpha_t$ | `schedule.alpha_bar[t]` | share of the signal's variance left after $t$ steps; $\bar\alpha_0 = 1$ |
# | $\epsilon$ | $\epsilon$ | `noise` | the Gaussian noise in $z_t$, $\mathcal{N}(0, I)$ |
# | $\theta$ | $\phi$ | `model.parameters()` | the network's weights |
# | $\epsilon_\theta(z_t, t)$ | $\mathrm{g}_t[z_t, \phi_t]$ | `model(z_t, t / T)` | the network's estimate of the noise |
# | $\hat x_0$ | – | `x0_hat` | the clean image implied by that estimate |
# | $\tilde\mu_t$, $\tilde\beta_t$ | – | `schedule.posterior_*` | mean and variance of the posterior $q(z_{t-1} \mid z_t, x)$ |
# | $\sigma_t$, $\xi$ | $\sigma_t$, $\epsilon$ | `sigma_kind`, `noise` | standard deviation and noise of one sampling step |
# | SNR | – | – | the digits' signal-to-noise ratio $\bar\alpha_t \operatorname{Var}(x)/(1-\bar\alpha_t)$ (see below) |

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

import lib
from lib import config, diffusion, processes, sampling, schedules, viz, widgets
from lib.data import load_mnist, to_uint8 as to_uint8_images
from lib.metrics import score
from lib.networks import count_parameters
from lib.runs import load_trained
from lib.tables import Table

SHORT = config.short_mode()  # CI sets DIFFUSION_BOOK_SHORT=1: same code, fewer samples
print(f"short mode: {SHORT}")

# %% [markdown]
# ## The forward process
#
# The forward process adds a little Gaussian noise at each of $T$ steps. With a *noise schedule*
# $\beta_1, \dots, \beta_T$ in $(0, 1)$, one step is
#
# $$
# q(z_t \mid z_{t-1}) = \mathcal{N}\!\left(z_t;\ \sqrt{1-\beta_t}\, z_{t-1},\ \beta_t I\right),
# \qquad z_0 = x.
# $$ (eq-forward-step)
#
# Composing Gaussians gives a closed form for any $t$ directly from $x$, with
# $\alpha_t = 1 - \beta_t$ and $\bar\alpha_t = \prod_{s=1}^{t} \alpha_s$. By induction: if
# $z_{t-1} = \sqrt{\bar\alpha_{t-1}}\,x + \sqrt{1-\bar\alpha_{t-1}}\,\epsilon'$, one more step gives mean
# $\sqrt{\alpha_t}\sqrt{\bar\alpha_{t-1}}\,x = \sqrt{\bar\alpha_t}\,x$ and, since the variances of independent
# Gaussians add, variance $\alpha_t(1-\bar\alpha_{t-1}) + \beta_t = \alpha_t - \bar\alpha_t + 1 - \alpha_t = 1 - \bar\alpha_t$, so
#
# $$
# q(z_t \mid x) = \mathcal{N}\!\left(z_t;\ \sqrt{\bar\alpha_t}\, x,\ (1-\bar\alpha_t) I\right),
# $$ (eq-closed-form)
#
# that is, $z_t = \sqrt{\bar\alpha_t}\, x + \sqrt{1-\bar\alpha_t}\, \epsilon$ with $\epsilon \sim \mathcal{N}(0, I)$.
#
# The library implements {eq}`eq-forward-step` as `diffusion.q_step` and {eq}`eq-closed-form` as
# `diffusion.q_sample`. We check that they agree: start many copies of one pixel value, apply the
# single step $t$ times, draw as many copies of $z_t$ directly with `q_sample`, and compare the two
# sets' means and variances (and both with the closed form's). The sets are random samples, so their
# means differ by Monte-Carlo noise of about $\sqrt{2v/n}$ (a few thousandths here, with $v$ the
# variance and $n$ the number of chains): "agree" means to within five such standard errors, which the
# cell asserts.

# %%
schedule = schedules.linear(T=1000, beta_1=1e-4, beta_T=0.02)
n_chains = 20_000 if SHORT else 200_000
x_value = 0.6
gen = torch.Generator().manual_seed(0)
z = torch.full((n_chains,), x_value, dtype=torch.float64)
x0 = torch.full((n_chains,), x_value, dtype=torch.float64)
rows = []
for t in range(1, schedule.T + 1):
    z = diffusion.q_step(schedule, z, t, torch.randn(z.shape, generator=gen, dtype=torch.float64))
    if t in (1, 10, 100, 300, 1000):
        direct = diffusion.q_sample(schedule, x0, torch.tensor(t), torch.randn(x0.shape, generator=gen, dtype=torch.float64))
        abar = schedule.alpha_bar[t].item()
        rows.append((t, z.mean().item(), direct.mean().item(), abar**0.5 * x_value,
                     z.var().item(), direct.var().item(), 1 - abar))
display(Table([{"t": t, "mean, iterated": m, "mean, q_sample": m_q, "mean, formula": m_cf,
                "variance, iterated": v, "variance, q_sample": v_q, "variance, formula": v_cf}
               for t, m, m_q, m_cf, v, v_q, v_cf in rows],
              formats={k: ".4f" for k in ("mean, iterated", "mean, q_sample", "mean, formula", "variance, iterated",
                                          "variance, q_sample", "variance, formula")},
              caption=f"{n_chains:,} chains of one pixel starting at x = {x_value}"))

# Two independent sample means differ by a standard error of sqrt(2 v / n); two sample variances by
# about v * sqrt(4 / n). Five standard errors: a real disagreement fails, sampling noise does not.
for t, m, m_q, m_cf, v, v_q, v_cf in rows:
    assert abs(m - m_q) < 5 * (2 * v_cf / n_chains) ** 0.5 + 1e-9, (t, m, m_q)
    assert abs(v - v_q) < 5 * v_cf * (4 / n_chains) ** 0.5 + 1e-9, (t, v, v_q)
print("iterating q(z_t | z_{t-1}) and the library's closed form q_sample agree in mean and variance at every t checked")

# %% [markdown]
# At $t = T$ almost nothing of $x$ is left: for the linear schedule of {cite:t}`ho2020denoising`
# ($\beta_1 = 10^{-4}$, $\beta_T = 0.02$, $T = 1000$), $\bar\alpha_T$ is about $4\times10^{-5}$, so
# $z_T = 0.006\,x + 1.000\,\epsilon$ ($\sqrt{\bar\alpha_T} \approx 0.006$): practically pure noise.

# %%
print(f"alpha_bar_T = {schedule.alpha_bar[-1].item():.3e}")
assert abs(schedule.alpha_bar[-1].item() - 4.04e-5) < 0.01e-5

# %% [markdown]
# ## Four noise schedules
#
# The schedule decides how fast information is destroyed. `lib.schedules` offers four, each a pure
# function returning one immutable object with $\beta_t$, $\alpha_t$, $\bar\alpha_t$ and the
# terms of the posterior $q(z_{t-1} \mid z_t, x)$ discussed under sampling:
#
# - **linear** {cite:p}`ho2020denoising`: $\beta_t$ evenly spaced from $\beta_1$ to $\beta_T$;
# - **quadratic**: $\sqrt{\beta_t}$ evenly spaced;
# - **sigmoid**: $\beta_t = \beta_1 + (\beta_T - \beta_1)\,r(u_t)$ with $u_t$ evenly spaced from $-6$ to 6 and
#   $r$ the logistic sigmoid rescaled to run from 0 to 1 over that range;
# - **cosine** {cite:p}`nichol2021improved`: $\bar\alpha_t = f(t)/f(0)$ with
#   $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1+s}\tfrac{\pi}{2}\big)$, $s = 0.008$.
#
# When does the digit disappear? A useful measure is the ratio of the digit's pixel variance that
# survives, $\bar\alpha_t \operatorname{Var}(x)$, to the noise variance $1 - \bar\alpha_t$ (the
# variance of MNIST's pixels in $[-1, 1]$ is computed from the training set below). We call it the
# digits' **SNR**: it is the usual signal-to-noise ratio of the diffusion literature,
# $\bar\alpha_t/(1-\bar\alpha_t)$ {cite:p}`kingma2021variational`, multiplied by the data's variance, so that
# 1 means the digit and the noise are equally strong *for these images*. The figure marks, on each
# schedule, where it falls to 0.1 and to 0.01 (the dashed lines); the forward animation further down
# shows frames at those steps.

# %% mystnb={"figure": {"caption": "Left: the share of the signal's variance left after t steps, $\\bar\\alpha_t$, for the four schedules at T = 1000. Right: the signal-to-noise ratio (SNR) of MNIST digits, $\\bar\\alpha_t \\mathrm{Var}(x) / (1 - \\bar\\alpha_t)$, on a log scale; the dashed lines are the levels 0.1 and 0.01, and dots mark where each schedule crosses them.", "name": "fig-schedules"}} tags=["hide-input"]
all_schedules = [schedules.make_schedule(name, T=1000) for name in ("linear", "quadratic", "sigmoid", "cosine")]
pixel_var = load_mnist("train", limit=10_000).images.var().item()
snr = {s.name: (s.alpha_bar * pixel_var / (1 - s.alpha_bar)) for s in all_schedules}
# the first t at which the ratio has fallen below each level
gone = {name: {level: int((r < level).nonzero()[0]) for level in (0.1, 0.01)} for name, r in snr.items()}
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
viz.plot_schedules(all_schedules, ax=axes[0])
axes[0].set_title(r"$\bar\alpha_t$: how much of the signal survives")
for s in all_schedules:
    line, = axes[1].plot(np.arange(1, s.T + 1), snr[s.name][1:].numpy(), label=s.name)
    for level, t in gone[s.name].items():
        axes[1].plot([t], [snr[s.name][t].item()], "o", color=line.get_color(), ms=5)
for level in (0.1, 0.01):
    axes[1].axhline(level, color="grey", lw=0.8, ls="--")
axes[1].set_yscale("log")
axes[1].set_ylim(1e-6, 1e4)
axes[1].set_xlabel("t")
axes[1].set_ylabel(r"$\bar\alpha_t\,\mathrm{Var}(x) / (1-\bar\alpha_t)$")
axes[1].set_title("the digits' SNR")
axes[1].legend()
axes[1].grid(alpha=0.3, which="both")
plt.tight_layout()
plt.show()

# %%
half = {s.name: s.alpha_bar[500].item() for s in all_schedules}
display(Table([{"schedule": s.name, "alpha_bar at T/2": half[s.name], "alpha_bar_T": s.alpha_bar[-1].item(),
                "t where SNR < 0.1": gone[s.name][0.1], "t where SNR < 0.01": gone[s.name][0.01]}
               for s in all_schedules], formats={"alpha_bar at T/2": ".4f", "alpha_bar_T": ".1e"},
              caption=f"T = 1000; SNR = alpha_bar_t Var(x) / (1 - alpha_bar_t), Var(x) = {pixel_var:.3f}"))
# The cosine schedule keeps more of the signal in the middle of the process than the linear one,
# and reaches each signal-to-noise level about 300 steps later.
assert half["cosine"] > half["linear"]
assert all(250 < gone["cosine"][level] - gone["linear"][level] < 350 for level in (0.1, 0.01))
# Its last step: f(T) = cos^2(pi/2) = 0 would make beta_T = 1 and alpha_bar_T = 0 (about 1e-33 in
# floating point); clipping beta_t at 0.999 limits the drop to alpha_bar_T = 0.001 * alpha_bar_{T-1}.
cosine_s = next(s for s in all_schedules if s.name == "cosine")
f_T = np.cos((1 + 0.008) / (1 + 0.008) * np.pi / 2) ** 2 / np.cos(0.008 / (1 + 0.008) * np.pi / 2) ** 2
print(f"cosine alpha_bar_T: unclipped f(T)/f(0) = {f_T:.1e}; with beta_T clipped at 0.999: "
      f"{cosine_s.alpha_bar[-1].item():.1e} (alpha_bar_(T-1) = {cosine_s.alpha_bar[-2].item():.1e})")
assert f_T < 1e-30 and 1e-9 < cosine_s.alpha_bar[-1].item() < 1e-8 and cosine_s.betas[-1].item() == 0.999

# %% [markdown]
# The right panel shows the same information as the digits' SNR, on a log scale, which makes plain how
# many of the $T$ steps fall where the digit is still visible. With the linear schedule the digits' SNR is below 0.01
# from about $t = 600$ on: in the animation below the digit can no longer be seen there, yet 40% of the
# steps remain, spent on images that are practically pure noise. The cosine schedule reaches the same
# levels about 300 steps later and spreads its steps more evenly over the part of the process where
# the digit is still visible. That is the motivation {cite:t}`nichol2021improved` give for it: the
# linear schedule destroys information too fast for small images. The hyperparameter-comparison chapter
# ({doc}`03_hyperparameters`, being written) will compare the schedules on trained models. The cosine schedule's drop at the very end comes from
# $f(T) = \cos^2(\pi/2) = 0$: unclipped, $\beta_T = 1 - \bar\alpha_T/\bar\alpha_{T-1}$ would be 1 and
# $\bar\alpha_T$ would be 0 (about $10^{-33}$ in floating point). Clipping $\beta_t$ at 0.999 *limits* the
# drop: $\bar\alpha_T = 0.001\,\bar\alpha_{T-1} \approx 2.4\times10^{-9}$, as printed above. Note also the other end:
# with the same $\beta_1, \beta_T$ the quadratic schedule leaves $\bar\alpha_T \approx 7\times10^{-4}$
# ($\sqrt{\bar\alpha_T} \approx 0.03$), so its $z_T$ is noticeably less pure noise than the linear one's.
#
# ## The forward process on real digits
#
# Below, four test digits are noised with the linear schedule and one fixed draw of $\epsilon$
# through {eq}`eq-closed-form`.
#
# ```{note}
# In JupyterLab, the slider in the next cell recomputes $z_t$ for any $t$. It needs a running Python
# kernel, so in the rendered book it shows nothing; the player under it carries the same frames
# (at the steps listed in its title) and runs in the page. Watch the frames at $t = 393$ and $t = 602$,
# where the digits' SNR crosses 0.1 and 0.01: by the second the digits can no longer be made out.
# ```

# %%
test = load_mnist("test", limit=8)
digits = test.images[:4]
widgets.forward_slider(schedule, digits, torch.Generator().manual_seed(1), step=10)

# %% tags=["hide-input"]
eps = torch.randn(digits.shape, generator=torch.Generator().manual_seed(1))
# denser where the digit fades; the steps where the digits' SNR falls below 0.1 and 0.01 are included
ts = sorted({0, 10, 25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, *gone["linear"].values()})
frames = [diffusion.q_sample(schedule, digits, torch.tensor(t), eps) for t in ts]
viz.jshtml(viz.animate(frames, [f"t = {t}, alpha_bar_t = {schedule.alpha_bar[t].item():.3f}, "
                                f"SNR = {snr['linear'][t].item():.3f}" if t else "t = 0" for t in ts], nrow=4,
                       scale=4))

# %% [markdown]
# ## Training: predict the noise
#
# The model runs the forward process backwards: a reverse process $p_\theta(z_{t-1} \mid z_t)$, one
# Gaussian step per $t$, whose mean is written through a network $\epsilon_\theta(z_t, t)$ that predicts
# the noise in $z_t$: $\mu_\theta(z_t, t) = \big(z_t - \beta_t\,\epsilon_\theta(z_t, t)/\sqrt{1-\bar\alpha_t}\big)/\sqrt{\alpha_t}$
# (derived under sampling, {eq}`eq-sampling`). Such a model is fitted by maximising a lower bound on
# the log-likelihood $\log p_\theta(x)$, the *variational bound* (ELBO): a sum over $t$ of KL divergences
# between Gaussians, the true posterior step $q(z_{t-1} \mid z_t, x)$ against the model's step. With the
# noise parametrisation, Ho et al. show that each of these terms (for $t \ge 2$; the $t = 1$ term, a
# decoder of the final image, is approximated the same way) is a noise regression
# $\|\epsilon - \epsilon_\theta\|^2$ times a weight $\beta_t^2/(2\sigma_t^2\alpha_t(1-\bar\alpha_t))$. Dropping
# the weights gives the simpler objective they train with. It is no longer a bound, and since the
# weights are largest at small $t$, it gives small $t$ less weight than the bound does, which Ho et al.
# found gives better samples:
#
# $$
# L_\text{simple}(\theta) = \mathbb{E}_{x,\ t \sim \mathcal{U}\{1..T\},\ \epsilon \sim \mathcal{N}(0, I)}
# \left\| \epsilon - \epsilon_\theta\!\left(\sqrt{\bar\alpha_t}\, x + \sqrt{1-\bar\alpha_t}\,\epsilon,\ t\right) \right\|^2 .
# $$ (eq-loss)
#
# **Algorithm 1** (training) repeats: take a batch of images, draw $t$ and $\epsilon$, form $z_t$ with
# {eq}`eq-closed-form`, and take a gradient step on {eq}`eq-loss`. In the library this is one function,
# written once for every forward process the book trains (`lib.processes.training_loss`); the Gaussian
# process of DDPM supplies the pair $(z_t, \epsilon)$ through its `degrade` method, printed after it. The
# training loop around them (`lib.training.train`) only adds batching, Adam, logging and checkpoints.
# The library's MSE averages over the 784 pixels (and the batch), so the losses printed below are
# {eq}`eq-loss` divided by 784: a network that predicted $\hat\epsilon = 0$ would score 1.
#
# In the code, `x_t` is this chapter's $z_t$ (the same function serves the cold-diffusion processes of
# a later chapter, whose states are not latents); `label` (class conditioning) and `extra_loss` (a term
# some networks add, such as the VAE-style decoder's KL term) are unused by DDPM and can be ignored here.

# %%
print(inspect.getsource(processes.training_loss))
print(inspect.getsource(diffusion.GaussianDiffusion.degrade))

# %% [markdown]
# The network is the coursework CNN (`lib.networks.CourseworkCNN`): blocks of a $7\times7$ convolution,
# LayerNorm and GELU with (16, 32, 32, 16) channels, then a $3\times3$ convolution back to one channel.
# It sees $t/T$ through a sinusoidal encoding (16 frequencies, sine and cosine) and a small MLP whose
# output is added after the first block. It is small, under 300,000 parameters (an ImageNet ResNet-18
# has 11 million):

# %%
from lib.configs import get_config

n_params = count_parameters(get_config("default").make_network())
print(f"the coursework CNN has {n_params:,} trainable parameters")
assert n_params < 300_000

# %% [markdown]
# ## Sampling: undo the noise
#
# Given the clean image, the step back is known exactly: the posterior $q(z_{t-1} \mid z_t, x)$ is
# Gaussian with mean and variance
#
# $$
# \tilde\mu_t(z_t, x) = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\, x + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\, z_t,
# \qquad \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t .
# $$ (eq-posterior)
#
# The reverse model takes this mean with $x$ replaced by the network's estimate
# $\hat x_0 = (z_t - \sqrt{1-\bar\alpha_t}\,\epsilon_\theta(z_t, t))/\sqrt{\bar\alpha_t}$ (solve
# {eq}`eq-closed-form` for $x$); substituting and simplifying gives the update below. Both steps are
# short; the derivations are in the dropdown.
#
# ```{admonition} Derivations: the posterior, and the update
# :class: dropdown
# **The posterior.** By Bayes' rule, $q(z_{t-1} \mid z_t, x) \propto q(z_t \mid z_{t-1})\, q(z_{t-1} \mid x)$
# (the forward process is Markov, so $z_t$ depends on $x$ only through $z_{t-1}$). Both factors are
# Gaussian in $z_{t-1}$, {eq}`eq-forward-step` and {eq}`eq-closed-form`, so their product is too; per
# pixel, its log is $-\tfrac12\big[(z_t - \sqrt{\alpha_t}\,z_{t-1})^2/\beta_t + (z_{t-1} - \sqrt{\bar\alpha_{t-1}}\,x)^2/(1-\bar\alpha_{t-1})\big]$ + const.
# The coefficient of $z_{t-1}^2$ gives the precision
# $1/\tilde\beta_t = \alpha_t/\beta_t + 1/(1-\bar\alpha_{t-1}) = (1-\bar\alpha_t)/\big(\beta_t(1-\bar\alpha_{t-1})\big)$,
# using $\alpha_t(1-\bar\alpha_{t-1}) + \beta_t = 1-\bar\alpha_t$ from the forward process. The linear
# term gives the mean
# $\tilde\mu_t = \tilde\beta_t\big(\sqrt{\alpha_t}\,z_t/\beta_t + \sqrt{\bar\alpha_{t-1}}\,x/(1-\bar\alpha_{t-1})\big)$,
# which multiplies out to {eq}`eq-posterior`.
#
# **The update.** Put $x = \hat x_0 = (z_t - \sqrt{1-\bar\alpha_t}\,\epsilon_\theta)/\sqrt{\bar\alpha_t}$ into
# $\tilde\mu_t$. With $\sqrt{\bar\alpha_{t-1}}/\sqrt{\bar\alpha_t} = 1/\sqrt{\alpha_t}$, the coefficient of
# $z_t$ becomes $\big(\beta_t + \alpha_t(1-\bar\alpha_{t-1})\big)/\big(\sqrt{\alpha_t}(1-\bar\alpha_t)\big) = 1/\sqrt{\alpha_t}$,
# and that of $\epsilon_\theta$ becomes $-\beta_t\sqrt{1-\bar\alpha_t}/\big(\sqrt{\alpha_t}(1-\bar\alpha_t)\big) = -\beta_t/\big(\sqrt{\alpha_t}\sqrt{1-\bar\alpha_t}\big)$:
# together, the mean of {eq}`eq-sampling`.
# ```
# Only the mean comes from the posterior: the variance $\sigma_t^2$
# is a separate choice. **Algorithm 2** (sampling) starts from $z_T \sim \mathcal{N}(0, I)$ and for
# $t = T, \dots, 1$ sets
#
# $$
# z_{t-1} = \frac{1}{\sqrt{\alpha_t}}\left(z_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,\epsilon_\theta(z_t, t)\right) + \sigma_t\, \xi,
# \qquad \xi \sim \mathcal{N}(0, I),
# $$ (eq-sampling)
#
# with no noise at the last step. Ho et al. found $\sigma_t^2 = \beta_t$ and $\sigma_t^2 = \tilde\beta_t$
# to work about equally well; `lib.sampling.sample` offers both (default $\beta_t$) and $\sigma_t = 0$,
# which keeps only the mean of each step: a deterministic map from $z_T$, not DDIM
# {cite:p}`song2021ddim`; below, it collapses every sample to a blank image. Each step also returns $\hat x_0$.
# Ho et al.'s released code computes the mean through {eq}`eq-posterior` with $\hat x_0$ clipped to
# $[-1, 1]$; without the clip that is exactly {eq}`eq-sampling`, which the library uses directly, so
# nothing is clipped inside the step ($\hat x_0$ is clipped only when displayed). In the code below,
# `_pair` returns $\beta_t$, $\alpha_t$ and $\bar\alpha_t$ for the step from $t$ to `t_prev` ($t - 1$ here;
# skipping steps is for a later chapter's fast samplers).

# %%
print(inspect.getsource(diffusion.ddpm_step))

# %% [markdown]
# The update {eq}`eq-sampling` is the posterior mean {eq}`eq-posterior` with $\hat x_0$ in place of
# $x$: the library's schedule stores the posterior's two coefficients and its variance $\tilde\beta_t$,
# so we can check the step against them at several $t$ with an arbitrary $z_t$ and noise estimate.

# %%
g = torch.Generator().manual_seed(3)
for t in (1, 2, 10, 500, 999, 1000):
    z_t, eps_hat = torch.randn(2, 1, 28, 28, generator=g).double(), torch.randn(2, 1, 28, 28, generator=g).double()
    mean, x0_hat = diffusion.ddpm_step(schedule, eps_hat, t, z_t, noise=None, sigma_kind="zero")
    posterior_mean = schedule.posterior_mean_coef_x0[t] * x0_hat + schedule.posterior_mean_coef_xt[t] * z_t
    assert torch.allclose(mean, posterior_mean, rtol=1e-6, atol=1e-6), t
    beta_tilde = (1 - schedule.alpha_bar[t - 1]) / (1 - schedule.alpha_bar[t]) * schedule.betas[t]
    assert abs(diffusion.sigma(schedule, t, "posterior") ** 2 - beta_tilde.item()) < 1e-9
print("the sampler's step equals the posterior mean with x0_hat substituted, and sigma_t^2 = beta_tilde_t, "
      "at t = 1, 2, 10, 500, 999 and 1000")

# %% [markdown]
# ## The shipped model
#
# The repository ships the default configuration trained with the book's own command
# (`python -m lib.train default --out checkpoints/default`). The next cell loads it and reports what
# it is: how many epochs it has been trained for, at which precision, and how long that took here.

# %%
trained = load_trained(config.shipped_checkpoint("default"))
h = trained.history
cfg = trained.config
print(f"configuration '{cfg.name}': hidden {cfg.hidden}, {cfg.activation}, {cfg.schedule} schedule, T = {cfg.T}, "
      f"lr {cfg.lr}, batch {cfg.batch_size}")
print(f"trained for {trained.epoch} of {cfg.epochs} planned epochs at precision {h['precision']}, "
      f"{sum(h['epoch_seconds']) / 3600:.2f} h of wall-clock time on the 2-core CPU that trained it "
      f"(median {np.median(h['epoch_seconds']):.0f} s per epoch, including validation and sample grids)")
print(f"{len(h['iter_loss'])} iterations; last epoch: training loss {h['train_loss'][-1]:.4f}, "
      f"validation loss {h['val_loss'][-1]:.4f}")
assert h["val_loss"][-1] < h["val_loss"][0], "validation loss should fall during training"

# %% [markdown]
# ### Loss curves
#
# Left: the loss of every iteration (faint) and its mean over the last epoch's worth of iterations.
# Right: the mean training loss of each epoch, and the loss on the 5,000 held-out validation images,
# computed with the same fixed noise and timesteps at every epoch so that epochs are comparable. The
# per-iteration loss is noisy because every image in a batch draws its own $t$ and its own noise, and
# how hard the noise is to predict depends strongly on $t$. The epoch's training mean includes the
# iterations at the start of the epoch, when the network was worse, which is why it can sit above the
# validation loss measured at the end of the epoch.

# %% mystnb={"figure": {"caption": "The shipped model's training loss per iteration (faint) with its moving mean (left), and the mean training loss of each epoch beside the validation loss (right).", "name": "fig-loss-curves"}} tags=["hide-input"]
viz.plot_loss_curves(h)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Where the model struggles: the loss at each $t$
#
# One number per epoch hides how the loss depends on $t$. Below, each of 1,000 validation images
# (200 in the book's short test mode) is noised once at a $t$ drawn in each of 20 equal ranges of
# $1..T$ (the same $t$ and noise for every model scored this way), and the loss is averaged per range.

# %%
val_images = load_mnist("val", limit=200 if SHORT else 1000).images
edges, loss_t = processes.loss_by_timestep(trained.model, trained.process, val_images, bins=20,
                                           precision=cfg.precision, progress=True)

# %% mystnb={"figure": {"caption": "Validation loss of the shipped model in 20 ranges of t (mean squared error of the noise estimate per pixel; 1 is the loss of predicting zero).", "name": "fig-loss-by-t"}} tags=["hide-input"]
centres = ((edges[:-1] + edges[1:]) / 2).numpy()
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.bar(centres, loss_t.numpy(), width=0.9 * (edges[1] - edges[0]).item())
ax.set_yscale("log")
ax.set_xlabel("t (range midpoint)")
ax.set_ylabel("validation loss")
ax.grid(alpha=0.3, which="both")
plt.show()

# %%
print("loss in the first and last ranges:", f"{loss_t[0].item():.4f} (t <= {edges[1].item()}),",
      f"{loss_t[-1].item():.5f} (t > {edges[-2].item()})")
# The noise is hardest to tell from the digit at small t and almost free to predict at large t.
assert loss_t[0] > 100 * loss_t[-1] and int(loss_t.argmax()) == 0

# %% [markdown]
# The target $\epsilon$ has the same unit variance at every $t$, yet the loss falls by orders of
# magnitude from small to large $t$. Write the noise in terms of the image:
# $\epsilon = (z_t - \sqrt{\bar\alpha_t}\,x)/\sqrt{1-\bar\alpha_t}$, so an error $\delta$ in the network's
# implicit estimate of $x$ becomes an error $\sqrt{\bar\alpha_t/(1-\bar\alpha_t)}\,\delta$ in $\hat\epsilon$.
# At small $t$ that factor is large (the noise is a faint layer on a clear digit, and every detail of
# the digit the network gets wrong counts as noise it failed to find); at large $t$ it is close to 0
# and $z_t$ is almost $\epsilon$ itself. A small loss at large $t$ means an easy target, not a finished
# job, but a uniform draw of $t$ in training does spend many of its steps where the loss is small (it
# is below 0.01 for roughly the last half of the steps). This is the other side of the remark under
# training: $L_\text{simple}$ already weighs small $t$ less than the bound does, and Ho et al. found that
# better for samples; the hyperparameter-comparison chapter ({doc}`03_hyperparameters`, being written) will show this curve for every run of
# its comparison.

# %% [markdown]
# ### Samples during training
#
# At the epochs the configuration lists for sample grids (`sample_epochs`: 1, 20, 40, 60 and 100) the
# training loop drew 16 samples, always from the same starting noise and sampler seed, so the panels
# differ only by what the network had learned: the same noise gives the same layout, and what to watch
# is the strokes, blobs at epoch 1, digit-like shapes by epoch 20, then fewer broken strokes.

# %% mystnb={"figure": {"caption": "Sixteen samples drawn during training at each recorded epoch, from the same starting noise every time.", "name": "fig-grids-by-epoch"}} tags=["hide-input"]
viz.plot_grids_by_epoch(h, size=3.0)
plt.show()

# %% [markdown]
# ### Fresh samples from the shipped checkpoint
#
# Here we draw new samples from the checkpoint as shipped (its epoch is printed above and in the grid's
# title) with Algorithm 2 ({eq}`eq-sampling`, $\sigma_t^2 = \beta_t$), beside real test digits.

# %%
n_fresh = 16 if SHORT else 64
result = sampling.sample(trained.model, trained.process, (n_fresh, 1, 28, 28), torch.Generator().manual_seed(2024),
                          precision=cfg.precision, progress=True)
test_digits = load_mnist("test", limit=n_fresh).images

# %% mystnb={"figure": {"caption": "Left: fresh samples of the shipped checkpoint (Algorithm 2, seed 2024). Right: as many test digits.", "name": "fig-fresh-samples"}}
fig, axes = plt.subplots(1, 2, figsize=(12, 6.5 if not SHORT else 3.5))
viz.show_grid(result.images, nrow=8, ax=axes[0], title=f"{n_fresh} samples, epoch {trained.epoch} (seed 2024)")
viz.show_grid(test_digits, nrow=8, ax=axes[1], title="test digits")
plt.show()

# %% [markdown]
# Are these samples any good? A check must be able to tell a trained model from an untrained one.
# Pixel statistics cannot (the epoch-1 blobs are also white strokes on black), nor can the confidence
# of an MNIST classifier (it is confidently wrong on blobs and even on pure noise). What can is a
# distance between the *distribution* of the samples and that of real digits in the feature space of
# that classifier: here the kernel inception distance (KID), a squared distance between the two sets'
# feature distributions whose estimate is unbiased whatever the number of samples, so sets of different
# sizes compare fairly. Unbiased is not exact: at a few dozen images one KID varies a lot from draw to
# draw (and can even come out below 0), so the cell also scores 20 independent sets of validation
# digits of the same size and prints how much their KIDs spread. The real digits are validation
# digits, which are not part of the test-set reference the scores compare against. The
# next chapter, {doc}`02_metrics`, defines KID with FID, IS and precision/recall and scores this
# checkpoint properly.

# %%
history_grids = dict(zip(h["grid_epochs"], h["grids"]))
val_sets = load_mnist("val", limit=20 * n_fresh).images.split(n_fresh)  # 20 independent sets of n_fresh
real_scores = [score(to_uint8_images(v)) for v in val_sets]
scored = {f"fresh samples, epoch {trained.epoch}": score(to_uint8_images(result.images)),
          "training grid, epoch 1": score(history_grids[1]),
          "validation digits (first set)": real_scores[0]}
display(Table([{"images": k, "n": v["n"], "KID": v["kid"], "FID": v["fid"]}
               for k, v in scored.items()], formats={"KID": ".2f", "FID": ".1f"},
              caption="Classifier-feature KID (unbiased at any n) and FID (biased upwards at small n), "
                      "each against the 10,000 test digits"))
real_kids = torch.tensor([r["kid"] for r in real_scores])
print(f"KID of 20 independent sets of {n_fresh} validation digits: mean {real_kids.mean():.2f}, "
      f"standard deviation {real_kids.std():.2f} (from {real_kids.min():.2f} to {real_kids.max():.2f})")
kid_fresh, kid_epoch1 = scored[f"fresh samples, epoch {trained.epoch}"]["kid"], scored["training grid, epoch 1"]["kid"]
# the trained model is far closer to real digits than the blobs of epoch 1, and further from them than
# sets of real digits of the same size are, by more than two of their standard deviations
assert kid_fresh < kid_epoch1 / 10
assert kid_fresh > real_kids.mean() + 2 * real_kids.std()

# %% [markdown]
# ### Three choices of $\sigma_t$ on the same noise
#
# The reverse variance is a free choice ({eq}`eq-sampling`). Below, one model samples three times
# from the same $z_T$ and the same per-step noise $\xi$ (one generator seed), with $\sigma_t^2 = \beta_t$,
# with the posterior variance $\tilde\beta_t$, and with $\sigma_t = 0$. Since
# $\tilde\beta_t/\beta_t = (1-\bar\alpha_{t-1})/(1-\bar\alpha_t)$ is close to 1 except in the last
# steps (exercise 2), the first two should barely differ. The third keeps only the mean of each step.

# %%
n_sigma = 4 if SHORT else 16
by_sigma = {kind: sampling.sample(trained.model, trained.process, (n_sigma, 1, 28, 28),
                                  torch.Generator().manual_seed(11), sigma_kind=kind, precision=cfg.precision,
                                  trajectory=True, keep_every=100, progress=True)
            for kind in diffusion.SIGMAS}

# %% mystnb={"figure": {"caption": "One starting noise and one per-step noise, sampled with three reverse variances. Left and middle, $\\sigma_t^2 = \\beta_t$ (Ho's default) and the posterior variance $\\tilde\\beta_t$: nearly identical digits. Right, $\\sigma_t = 0$: every sample ends as a blank black image (not a rendering failure; the table below shows why).", "name": "fig-sigma-choices"}} tags=["hide-input"]
sigma_titles = {"beta": r"$\sigma_t^2 = \beta_t$", "posterior": r"$\sigma_t^2 = \tilde\beta_t$", "zero": r"$\sigma_t = 0$"}
fig, axes = plt.subplots(1, 3, figsize=(13, 4.6 if not SHORT else 4.0))
for ax, (kind, res) in zip(axes, by_sigma.items()):
    viz.show_grid(res.images, nrow=4 if not SHORT else 2, ax=ax, title=sigma_titles[kind])
plt.tight_layout()
plt.show()

# %%
finals = {kind: to_uint8_images(res.images).float() / 255 for kind, res in by_sigma.items()}
std_rows = [{"t": t, **{f"std of z_t, sigma {kind}": res.trajectory[i].std().item() for kind, res in by_sigma.items()},
             "forward process": (schedule.alpha_bar[t] * pixel_var + 1 - schedule.alpha_bar[t]).sqrt().item()}
            for i, t in enumerate(by_sigma["beta"].timesteps) if t in (1000, 900, 700, 500, 300, 100, 0)]
display(Table(std_rows, formats={k: ".3f" for k in std_rows[0] if k != "t"},
              caption="Spread of the samples along the way, beside that of real digits noised to the same t"))
print("mean brightness of the final samples (0 black, 1 white):", {k: round(v.mean().item(), 4) for k, v in finals.items()})
print(f"mean |difference| between the beta and posterior samples: {(finals['beta'] - finals['posterior']).abs().mean():.4f}")
# beta and the posterior variance give nearly the same images; sigma = 0 collapses to a blank background,
# its z_t having lost most of its spread within the first 100 steps
assert (finals["beta"] - finals["posterior"]).abs().mean() < 0.003
assert finals["zero"].amax((1, 2, 3)).max() < 0.05 < finals["beta"].mean()  # every zero-sigma sample blank
assert std_rows[1]["std of z_t, sigma zero"] < 0.5 < 0.9 < std_rows[1]["std of z_t, sigma beta"]

# %% [markdown]
# $\sigma_t = 0$ does not give smoother digits; it gives none. The table shows why: in the forward
# process $z_t$ keeps a spread close to 1 until the digit emerges, and the noisy samplers track it, but
# without the added noise each step only contracts $z_t$ toward the network's estimate of the *average*
# compatible image ($\hat x_0$ is a blur early on, see below). The spread collapses within the first
# hundred steps, the network is then fed inputs unlike any it was trained on at those $t$, and every
# sample drifts to the black background. This is not DDIM {cite:p}`song2021ddim`, which is also
# deterministic but changes the mean of each step so that the marginals stay right; the chapter on
# fast sampling (to come) compares the two. Ho et al. do not use $\sigma_t = 0$.

# %% [markdown]
# ### Stepping through a reverse trajectory
#
# `sample(..., trajectory=True)` keeps $z_t$ and the network's $\hat x_0$ along the way. The slider
# (JupyterLab) and the player (rendered book) show both rows: the top row is the sample as it is
# denoised, the bottom row what the network believes the final digit will be at that step. Near $t = T$,
# $\hat x_0$ multiplies any error in $\hat\epsilon$ by $\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t}$ (about 157 at
# $t = T$; the network's own error and floating-point rounding both count), so it shows noise, clipped to
# $[-1, 1]$ for display. Later it shows a blurry digit. The blur is not a defect of the network: trained
# with the squared error, $\hat x_0$ estimates the conditional mean $\mathbb{E}[x \mid z_t]$, the average
# of every digit still compatible with $z_t$. While much noise remains, many digits are compatible and
# their average is a blur; as $t$ falls, fewer remain and the estimate sharpens. The frames show that
# the choice is not made early: in the middle of the trajectory (around $t = 400$) the estimated digit
# can still change identity, and it settles only in the last few hundred steps.
#
# ```{note}
# The slider in the next cell needs a running Python kernel (JupyterLab); in the rendered book it
# shows nothing. The player under it shows the same trajectory at 15 of its steps.
# ```

# %%
n_traj = 4
traj = sampling.sample(trained.model, trained.process, (n_traj, 1, 28, 28), torch.Generator().manual_seed(7),
                        trajectory=True, keep_every=10, precision=cfg.precision, progress=True)
widgets.trajectory_slider(traj)

# %% [markdown]
# The player shows a subset of the 101 stored steps, denser near the end where the digit appears
# (the frames are embedded in the page, so fewer frames keep it light). Top row $z_t$, bottom row
# $\hat x_0$: step from $t = 600$ to $t = 250$ and watch the bottom row, where the blurred estimate of a
# digit can still turn into another one.

# %% tags=["hide-input"]
show = [traj.timesteps.index(t) for t in (1000, 800, 600, 500, 400, 300, 250, 200, 150, 100, 70, 40, 20, 10, 0)]
frames = [(traj.trajectory[i], traj.x0_trajectory[i]) for i in show]
viz.jshtml(viz.animate(frames, [f"t = {traj.timesteps[i]}" for i in show], nrow=n_traj, rows=["z_t", "x0_hat"],
                       scale=4))

# %% [markdown]
# ## Aside: why the shipped default was trained in bfloat16
#
# This section is about computing, not diffusion, and can be skipped. The machine that trained the shipped default ran bfloat16 natively (AVX-512 BF16), and there the
# network trained faster under `torch.autocast` in bf16 than in fp32. The library uses bf16
# (`precision="auto"`) only where the hardware runs it natively; elsewhere, on a CPU with AVX2 only for
# example, bf16 is emulated and far slower than fp32, so `auto` picks fp32 (`python -m lib.bench` prints
# both on your machine). The evidence for bf16 is a side-by-side run on that machine, with the same
# configuration, seed and data in both precisions, by `python -m lib.compare_precision`; its record
# ships in `results/`. It is a short run (a few epochs on 12,000 images, validation on 2,000), in which
# both sample grids are still blobs: it shows the same early training and validation loss and the
# speed-up, not equal sample quality at the end of training.

# %% mystnb={"figure": {"caption": "The side-by-side run of python -m lib.compare_precision: training loss of fp32 (thick) and bf16 (dashed), which lie on top of each other (left), and their sample grids from the same noise after the last epoch (right).", "name": "fig-precision"}} tags=["hide-input"]
import json

record = json.loads((config.RESULTS_DIR / "precision_comparison.json").read_text())
runs = record["runs"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.3), gridspec_kw={"width_ratios": [2, 1, 1]})
for (name, r), style in zip(runs.items(), ({"lw": 4, "alpha": 0.5}, {"lw": 1.2, "ls": "--"})):
    axes[0].plot(viz.moving_average(r["iter_loss"], 20), label=f"{name} (mean of 20 iterations)", **style)
axes[0].set_yscale("log")
axes[0].set_xlabel("iteration")
axes[0].set_ylabel("training loss")
axes[0].legend(fontsize=10)
axes[0].grid(alpha=0.3, which="both")
for ax, (name, r) in zip(axes[1:], runs.items()):
    viz.show_grid(np.array(r["grid"], dtype=np.uint8), nrow=4, ax=ax, title=f"{name}, same noise")
plt.tight_layout()
plt.show()

# %%
print(f"{record['epochs']} epochs on {record['train_images']} training images, seed {record['seed']}")
for name, r in runs.items():
    print(f"{name}: final training loss {r['train_loss'][-1]:.4f}, validation loss {r['val_loss'][-1]:.4f}, "
          f"{sum(r['epoch_seconds']):.0f} s in all")
speedup = sum(runs["fp32"]["epoch_seconds"]) / sum(runs["bf16"]["epoch_seconds"])
print(f"bf16 was {speedup:.1f}x faster than fp32 for the same epochs (including validation and sampling)")
# "The same early loss": bf16's final validation loss within 2% of fp32's (or below it).
assert runs["bf16"]["val_loss"][-1] <= 1.02 * runs["fp32"]["val_loss"][-1]

# %% [markdown]
# ## Recap
#
# - Images live in $[-1, 1]$. The forward process {eq}`eq-forward-step` has the closed form
#   {eq}`eq-closed-form`; iterating the single step reproduces the library's `q_sample` in mean and
#   variance.
# - The schedule sets how fast $\bar\alpha_t$ falls. With the linear schedule the digits' signal-to-noise
#   ratio is below 0.01 for the last 40% of the steps; the cosine schedule keeps more signal mid-way and
#   reaches each level hundreds of steps later.
# - Training regresses the noise ({eq}`eq-loss`, Algorithm 1). The loss is largest at small $t$, where
#   every error in the digit counts as missed noise, and nearly zero at large $t$.
# - Sampling runs the learned reverse step {eq}`eq-sampling` $T$ times (Algorithm 2): the posterior mean
#   with $\hat x_0$ substituted, checked against the schedule's coefficients, plus noise of a chosen
#   variance. $\beta_t$ and $\tilde\beta_t$ give nearly the same samples; $\sigma_t = 0$ collapses the spread
#   of $z_t$ and every sample ends blank.
# - $\hat x_0$ estimates $\mathbb{E}[x \mid z_t]$, an average over the digits still possible, hence its blur.
# - The shipped model's curves, samples and trajectory are computed from the checkpoint in the
#   repository, trained by `python -m lib.train default` (continued with `--resume` after each stop); its
#   samples are far closer to real digits than the epoch-1 blobs by KID, and still measurably worse than
#   real digits, which the next chapter quantifies.
#
# ## Exercises
#
# Each exercise has a worked solution behind a toggle (click to show the hidden cell and the
# explanation); the solutions run with the rest of the chapter, so their numbers are current.
#
# **Exercise 1.** Suppose a model is trained with $T = 100$ instead of 1000 but the same linear
# $\beta_1 = 10^{-4}$, $\beta_T = 0.02$ (one coursework variant did this). *Predict* $\bar\alpha_T$, the
# share of the signal's variance left at $t = T$, using $\log(1-\beta) \approx -\beta$, then check with
# `lib.schedules`. What fraction of the digit's amplitude remains in $z_T$, and what does this mean for
# a sampler that starts from pure noise $z_T \sim \mathcal{N}(0, I)$?

# %% tags=["hide-cell"]
short_schedule = schedules.linear(T=100, beta_1=1e-4, beta_T=0.02)
predicted = np.exp(-short_schedule.betas.sum().item())  # sum of 100 evenly spaced betas = 100 * 0.01005
actual = short_schedule.alpha_bar[-1].item()
print(f"predicted alpha_bar_T = exp(-sum beta) = {predicted:.3f}; actual {actual:.3f}; "
      f"sqrt(alpha_bar_T) = {actual ** 0.5:.2f}")
assert abs(predicted - actual) < 0.01 and actual > 0.3

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# $\bar\alpha_T = \prod_t (1-\beta_t) \approx \exp(-\sum_t \beta_t)$, and the 100 evenly spaced
# $\beta_t$ sum to $100 \times (10^{-4} + 0.02)/2 \approx 1.0$, so $\bar\alpha_T \approx e^{-1} \approx 0.37$:
# $z_T = 0.6\,x + 0.8\,\epsilon$ keeps 60% of the digit's amplitude. The model is trained only on such
# $z_T$, but sampling starts from pure noise, which it has never seen at $t = T$: the start is off the
# training distribution. With $T = 100$ the betas must be larger (or the cosine schedule used) so that
# $\bar\alpha_T$ is near 0. The hyperparameter-comparison chapter ({doc}`03_hyperparameters`, being written) will show what this does to the samples.
# ```
#
# **Exercise 2.** The posterior variance $\tilde\beta_t$ is never larger than $\beta_t$. Show it from
# {eq}`eq-posterior`, find from the schedule where the two differ most, and say why
# $\sigma_t^2 = \beta_t$ and $\sigma_t^2 = \tilde\beta_t$ give nearly the same samples above.

# %% tags=["hide-cell"]
ratio = (schedule.posterior_variance[1:] / schedule.betas[1:]).numpy()  # beta_tilde_t / beta_t, t = 1..T
print(f"beta_tilde/beta at t = 1, 2, 10, 100: {ratio[0]:.3f}, {ratio[1]:.3f}, {ratio[9]:.3f}, {ratio[99]:.3f}")
t_last = int(np.nonzero(ratio < 0.99)[0].max()) + 1
gap = (schedule.betas[1:] - schedule.posterior_variance[1:]).sum().item()
print(f"it is below 0.99 only for t <= {t_last} of {schedule.T}")
print(f"noise variance the sampler adds over all steps: sum of beta_t = {schedule.betas[1:].sum().item():.2f}; "
      f"sum of beta_t - beta_tilde_t = {gap:.4f}, against a pixel variance of {pixel_var:.3f}")
assert ratio[0] == 0 and (ratio <= 1).all() and ratio[99] > 0.98 and t_last < 200
assert 0.03 * pixel_var < gap < 0.04 * pixel_var  # small: under 4% of the pixel variance

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# $\tilde\beta_t/\beta_t = (1-\bar\alpha_{t-1})/(1-\bar\alpha_t) \le 1$ because $\bar\alpha_{t-1} \ge \bar\alpha_t$.
# The ratio is 0 at $t = 1$, because $\bar\alpha_0 = 1$, and it is above 0.99 for every $t$ beyond the
# printed bound: the two samplers differ only at small $t$, which are the *last* steps of sampling.
# The noise added there is not small (summed over those steps, $\beta_t$ adds up to a sizeable part of the
# pixel variance), but the *difference* between the two choices is: summed over all steps,
# $\beta_t - \tilde\beta_t$ comes to under 4% of the pixel variance (printed above). That is why the
# samples above barely differ.
# ```
#
# **Exercise 3.** A network that always answers $\hat\epsilon = 0$ scores exactly 1 on the library's
# loss (the mean over pixels of {eq}`eq-loss`), at every $t$. Explain why, and check it with
# `processes.loss_by_timestep` on such a network.

# %% tags=["hide-cell"]
class PredictZero(torch.nn.Module):
    def forward(self, z_t, t_frac):
        return torch.zeros_like(z_t)


_, zero_loss = processes.loss_by_timestep(PredictZero(), trained.process, val_images, bins=5)
print("loss of predicting zero in 5 ranges of t:", [round(v, 3) for v in zero_loss.tolist()])
assert all(abs(v - 1) < 0.02 for v in zero_loss.tolist())
print(f"the shipped model's last validation loss, {h['val_loss'][-1]:.4f}, is {1 / h['val_loss'][-1]:.0f}x smaller")

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# The loss of $\hat\epsilon = 0$ is the mean of $\epsilon^2$ over pixels, and each $\epsilon$ is
# $\mathcal{N}(0, 1)$ whatever $t$ and the image, so its expectation is exactly 1 (up to sampling noise
# with a few hundred thousand pixels). The shipped model's validation loss is therefore the share of
# the noise's variance it fails to explain, averaged over $t$: a loss $L$ means it explains a share
# $1 - L$ of that variance, with $1/L$ times less error than answering 0 (both printed above).
# ```
