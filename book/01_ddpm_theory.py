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
# Notation: $x$ (also written $x_0$, as in the library's `x0`) is a clean image and $z_t$ its noisy
# version after $t$ steps, with $z_0 = x$; the latent $z$ follows {cite:t}`prince2023understanding`,
# while $\beta_t$, $\alpha_t$ and $\bar\alpha_t$ and the algorithms are those of {cite:t}`ho2020denoising`.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

import lib
from lib import config, diffusion, processes, sampling, schedules, viz, widgets
from lib.data import load_mnist, to_unit_range
from lib.runs import load_trained

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
# $\sqrt{\alpha_t}\sqrt{\bar\alpha_{t-1}}\,x = \sqrt{\bar\alpha_t}\,x$ and variance
# $\alpha_t(1-\bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$, so
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
# sets' means and variances (and both with the closed form's).

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
print(f"{'t':>5} {'mean: iterated':>15} {'q_sample':>9} {'formula':>8} {'var: iterated':>14} {'q_sample':>9} {'formula':>8}")
for t, m, m_q, m_cf, v, v_q, v_cf in rows:
    print(f"{t:>5} {m:>15.4f} {m_q:>9.4f} {m_cf:>8.4f} {v:>14.4f} {v_q:>9.4f} {v_cf:>8.4f}")

# Two independent sample means differ by a standard error of sqrt(2 v / n); two sample variances by
# about v * sqrt(4 / n). Five standard errors: a real disagreement fails, sampling noise does not.
for t, m, m_q, m_cf, v, v_q, v_cf in rows:
    assert abs(m - m_q) < 5 * (2 * v_cf / n_chains) ** 0.5 + 1e-9, (t, m, m_q)
    assert abs(v - v_q) < 5 * v_cf * (4 / n_chains) ** 0.5 + 1e-9, (t, v, v_q)
print("iterating q(z_t | z_{t-1}) and the library's closed form q_sample agree in mean and variance at every t checked")

# %% [markdown]
# At $t = T$ almost nothing of $x$ is left: for the linear schedule of {cite:t}`ho2020denoising`
# ($\beta_1 = 10^{-4}$, $\beta_T = 0.02$, $T = 1000$), $\bar\alpha_T$ is about $4\times10^{-5}$, so
# $z_T$ is, to within a factor $\sqrt{\bar\alpha_T} \approx 0.006$ of the image, pure noise.

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
# - **sigmoid**: $\beta_t$ follows a sigmoid between the same end points;
# - **cosine** {cite:p}`nichol2021improved`: $\bar\alpha_t = f(t)/f(0)$ with
#   $f(t) = \cos^2\!\big(\tfrac{t/T + s}{1+s}\tfrac{\pi}{2}\big)$, $s = 0.008$.

# %%
all_schedules = [schedules.make_schedule(name, T=1000) for name in ("linear", "quadratic", "sigmoid", "cosine")]
fig, axes = plt.subplots(1, 2, figsize=(12, 3.5))
viz.plot_schedules(all_schedules, ax=axes[0])
axes[0].set_title(r"$\bar\alpha_t$: how much of the signal survives")
for s in all_schedules:
    axes[1].plot(np.arange(1, s.T + 1), (s.alpha_bar[1:] / (1 - s.alpha_bar[1:])).numpy(), label=s.name)
axes[1].set_yscale("log")
axes[1].set_xlabel("t")
axes[1].set_ylabel(r"signal-to-noise ratio $\bar\alpha_t / (1-\bar\alpha_t)$")
axes[1].legend(fontsize=8)
axes[1].grid(alpha=0.3, which="both")
plt.tight_layout()
plt.show()

half = {s.name: s.alpha_bar[500].item() for s in all_schedules}
print("alpha_bar_T:", {s.name: f"{s.alpha_bar[-1].item():.1e}" for s in all_schedules})
print("alpha_bar at t = T/2:", {k: round(v, 4) for k, v in half.items()})
# The cosine schedule keeps more of the signal in the middle of the process than the linear one.
assert half["cosine"] > half["linear"]
# Its last step: f(T) = cos^2(pi/2) = 0 would make beta_T = 1 and alpha_bar_T = 0 (about 1e-33 in
# floating point); clipping beta_t at 0.999 limits the drop to alpha_bar_T = 0.001 * alpha_bar_{T-1}.
cosine_s = next(s for s in all_schedules if s.name == "cosine")
f_T = np.cos((1 + 0.008) / (1 + 0.008) * np.pi / 2) ** 2 / np.cos(0.008 / (1 + 0.008) * np.pi / 2) ** 2
print(f"cosine alpha_bar_T: unclipped f(T)/f(0) = {f_T:.1e}; with beta_T clipped at 0.999: "
      f"{cosine_s.alpha_bar[-1].item():.1e} (alpha_bar_(T-1) = {cosine_s.alpha_bar[-2].item():.1e})")
assert f_T < 1e-30 and 1e-9 < cosine_s.alpha_bar[-1].item() < 1e-8 and cosine_s.betas[-1].item() == 0.999

# %% [markdown]
# The right panel shows the same information as a signal-to-noise ratio, on a log scale: a schedule
# spends its steps where the ratio changes. The cosine schedule's drop at the very end comes from
# $f(T) = \cos^2(\pi/2) = 0$: unclipped, $\beta_T = 1 - \bar\alpha_T/\bar\alpha_{T-1}$ would be 1 and
# $\bar\alpha_T$ would be 0 (about $10^{-33}$ in floating point). Clipping $\beta_t$ at 0.999 *limits* the
# drop: $\bar\alpha_T = 0.001\,\bar\alpha_{T-1} \approx 2.4\times10^{-9}$, as printed above. Note also the other end:
# with the same $\beta_1, \beta_T$ the quadratic schedule leaves $\bar\alpha_T \approx 7\times10^{-4}$
# ($\sqrt{\bar\alpha_T} \approx 0.03$), so its $z_T$ is noticeably less pure noise than the linear one's.
#
# ## The forward process on real digits
#
# Below, four test digits are noised with the linear schedule and one fixed draw of $\epsilon$
# through {eq}`eq-closed-form`. In JupyterLab the slider recomputes $z_t$ for any $t$; in the
# rendered book, the player underneath steps through $t$ without a kernel.

# %%
test = load_mnist("test", limit=8)
digits = test.images[:4]
widgets.forward_slider(schedule, digits, torch.Generator().manual_seed(1), step=10)

# %%
eps = torch.randn(digits.shape, generator=torch.Generator().manual_seed(1))
ts = [0, 10, 25, 50, 100, 150, 200, 300, 400, 500, 600, 800, 1000]  # denser where the digit fades
frames = [diffusion.q_sample(schedule, digits, torch.tensor(t), eps) for t in ts]
viz.jshtml(viz.animate(frames, [f"t = {t}, alpha_bar_t = {schedule.alpha_bar[t].item():.3f}" for t in ts], nrow=4))

# %% [markdown]
# ## Training: predict the noise
#
# The reverse process $p_\theta(z_{t-1} \mid z_t)$ is a Gaussian whose mean is written through a
# network $\epsilon_\theta(z_t, t)$ that predicts the noise in $z_t$. With that parametrisation, Ho et al.
# show that the variational bound is a *weighted* sum over $t$ of noise-regression terms; dropping the
# weights gives the simpler objective they train with (no longer a bound, and it gives small $t$ less
# weight than the bound does):
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

# %%
print(inspect.getsource(processes.training_loss))
print(inspect.getsource(diffusion.GaussianDiffusion.degrade))

# %% [markdown]
# The network is the coursework CNN (`lib.networks.CourseworkCNN`): blocks of a $7\times7$ convolution,
# LayerNorm and GELU with (16, 32, 32, 16) channels, then a $3\times3$ convolution back to one channel.
# It sees $t/T$ through a sinusoidal encoding (16 frequencies, sine and cosine) and a small MLP whose
# output is added after the first block.

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
# $\hat x_0 = (z_t - \sqrt{1-\bar\alpha_t}\,\epsilon_\theta(z_t, t))/\sqrt{\bar\alpha_t}$; substituting and
# simplifying gives the update below. Only the mean comes from the posterior: the variance $\sigma_t^2$
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
# {cite:p}`song2021ddim`, and it gives over-smoothed samples. Each step also returns $\hat x_0$. Unlike
# Ho et al.'s released code, the library does not clip $\hat x_0$ to $[-1, 1]$ inside the step; it is
# clipped only when displayed.

# %%
print(inspect.getsource(diffusion.ddpm_step))

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
      f"{sum(h['epoch_seconds']) / 3600:.2f} h of wall-clock time on this book's 2-core CPU "
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

# %%
viz.plot_loss_curves(h)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Samples during training
#
# At the recorded epochs (1, 20, 40, 60 and 100, those the run has reached; each panel is titled) the
# training loop drew 16 samples, always from the same starting noise and sampler seed, so the panels
# differ only by what the network had learned.

# %%
viz.plot_grids_by_epoch(h)
plt.show()

# %% [markdown]
# ### Fresh samples from the shipped checkpoint
#
# Here we draw new samples from the checkpoint as shipped (its epoch is printed above and in the grid's
# title) with Algorithm 2 ({eq}`eq-sampling`, $\sigma_t^2 = \beta_t$) and compare
# simple pixel statistics with real test digits: MNIST is mostly black background with white strokes,
# so most pixels should be near 0 or 1 and the mean brightness should be close to the test set's.

# %%
n_fresh = 16 if SHORT else 64
result = sampling.sample(trained.model, trained.process, (n_fresh, 1, 28, 28), torch.Generator().manual_seed(2024),
                          precision=cfg.precision, progress=True)
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
viz.show_grid(result.images, nrow=8, ax=axes[0], title=f"{n_fresh} samples, epoch {trained.epoch} (seed 2024)")
viz.show_grid(load_mnist("test", limit=n_fresh).images, nrow=8, ax=axes[1], title="test digits")
plt.show()


def pixel_stats(x):
    u = to_unit_range(x)
    return {"mean": u.mean().item(), "mid-grey share": ((u > 0.2) & (u < 0.8)).float().mean().item()}


s_gen, s_test = pixel_stats(result.images), pixel_stats(load_mnist("test", limit=1000).images)
print("samples:", {k: round(v, 3) for k, v in s_gen.items()})
print("test set:", {k: round(v, 3) for k, v in s_test.items()})
assert abs(s_gen["mean"] - s_test["mean"]) < 0.1
assert s_gen["mid-grey share"] < 0.25

# %% [markdown]
# Pixel statistics are only a sanity check: they say the samples look like white strokes on black,
# not that they are good digits, and many samples of this small CNN are stroke-like shapes rather than
# readable digits. Measuring sample quality properly (FID, IS and precision/recall on features of an
# MNIST classifier) is the subject of the next chapter, {doc}`02_metrics`, which scores this checkpoint.
#
# ### Stepping through a reverse trajectory
#
# `sample(..., trajectory=True)` keeps $z_t$ and the network's $\hat x_0$ along the way. The slider
# (JupyterLab) and the player (rendered book) show both rows: the top row is the sample as it is
# denoised, the bottom row what the network believes the final digit will be at that step. Near $t = T$,
# $\hat x_0$ multiplies any error in $\hat\epsilon$ by $\sqrt{1-\bar\alpha_t}/\sqrt{\bar\alpha_t}$ (about 157 at
# $t = T$; the network's own error and its rounding both count), so it shows noise, clipped to
# $[-1, 1]$ for display. Later it shows a blurry digit. The blur is not a defect of the network: trained
# with the squared error, $\hat x_0$ estimates the conditional mean $\mathbb{E}[x \mid z_t]$, the average
# of every digit still compatible with $z_t$. While much noise remains, many digits are compatible and
# their average is a blur; as $t$ falls, fewer remain and the estimate sharpens. The frames show that
# the choice is not made early: in the middle of the trajectory (around $t = 400$) the estimated digit
# can still change identity, and it settles only in the last few hundred steps.

# %%
n_traj = 4
traj = sampling.sample(trained.model, trained.process, (n_traj, 1, 28, 28), torch.Generator().manual_seed(7),
                        trajectory=True, keep_every=10, precision=cfg.precision)
widgets.trajectory_slider(traj)

# %% [markdown]
# The player shows a subset of the 101 stored steps, denser near the end where the digit appears
# (the frames are embedded in the page, so fewer frames keep it light).

# %%
show = [traj.timesteps.index(t) for t in (1000, 800, 600, 500, 400, 300, 250, 200, 150, 100, 70, 40, 20, 10, 0)]
frames = [(traj.trajectory[i], traj.x0_trajectory[i]) for i in show]
viz.jshtml(viz.animate(frames, [f"t = {traj.timesteps[i]}" for i in show], nrow=n_traj, rows=["z_t", "x0_hat"]))

# %% [markdown]
# ## Why the shipped default was trained in bfloat16
#
# The machine that trained the shipped default ran bfloat16 natively (AVX-512 BF16), and there the
# network trained faster under `torch.autocast` in bf16 than in fp32. The library uses bf16
# (`precision="auto"`) only where the hardware runs it natively; elsewhere, on a CPU with AVX2 only for
# example, bf16 is emulated and far slower than fp32, so `auto` picks fp32 (`python -m lib.bench` prints
# both on your machine). The evidence for bf16 is a side-by-side run on that machine, with the same
# configuration, seed and data in both precisions, by `python -m lib.compare_precision`; its record
# ships in `results/`. It is a short run (a few epochs on 12,000 images, validation on 2,000), in which
# both sample grids are still blobs: it shows the same early training and validation loss and the
# speed-up, not equal sample quality at the end of training.

# %%
import json

record = json.loads((config.RESULTS_DIR / "precision_comparison.json").read_text())
runs = record["runs"]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.3), gridspec_kw={"width_ratios": [2, 1, 1]})
for name, r in runs.items():
    axes[0].plot(viz.moving_average(r["iter_loss"], 20), label=f"{name} (mean of 20 iterations)")
axes[0].set_yscale("log")
axes[0].set_xlabel("iteration")
axes[0].set_ylabel("training loss")
axes[0].legend(fontsize=8)
axes[0].grid(alpha=0.3, which="both")
for ax, (name, r) in zip(axes[1:], runs.items()):
    viz.show_grid(np.array(r["grid"], dtype=np.uint8), nrow=4, ax=ax, title=f"{name}, same noise")
plt.tight_layout()
plt.show()
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
# - The forward process {eq}`eq-forward-step` has the closed form {eq}`eq-closed-form`; iterating the
#   single step reproduces its mean and variance.
# - The schedule sets how fast $\bar\alpha_t$ falls; the cosine schedule keeps more signal mid-way.
# - Training regresses the noise ({eq}`eq-loss`, Algorithm 1); sampling runs the learned reverse step
#   {eq}`eq-sampling` $T$ times (Algorithm 2).
# - The shipped model's curves, samples and trajectory above are computed from the checkpoint in the
#   repository, trained by `python -m lib.train default` (continued with `--resume` after each stop).
