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
# # Cold diffusion: restoring deterministic degradations
#
# ```{admonition} In this chapter
# :class: tip
# - **cold diffusion** {cite:p}`bansal2022cold`: a diffusion model whose forward process is any
#   degradation, here blur, row/column averaging and downsampling, instead of Gaussian noise;
# - its two **sampling algorithms**, and why the second one tolerates an imperfect restoration;
# - the paper's **MNIST deblurring setting** reproduced to the pixel: our degraded images score the
#   paper's RMSE before any network is trained;
# - how to **generate** from a deterministic process: a start drawn from a distribution fitted to
#   fully degraded training images, plus a little noise.
# ```
#
# ```{note}
# This chapter is being written. Its restoration networks are queued for training (the book's runs
# `blur-paper`, `blur`, `rows-*`, `columns-random` and `downsample`); the sections that need them,
# Table 1's restored rows and the generated samples, are added when the runs finish. Everything below
# is computed from the degradations alone.
# ```

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from lib import config, viz, widgets
from lib.configs import get_config
from lib.data import load_mnist, to_uint8
from lib.metrics import rmse, ssim
from lib.tables import Table

SHORT = config.short_mode()  # CI sets DIFFUSION_BOOK_SHORT=1: same code, fewer images
print(f"short mode: {SHORT}")

# %% [markdown]
# ## A degradation instead of noise
#
# DDPM's forward process adds Gaussian noise. {cite:t}`bansal2022cold` replace it with a
# deterministic degradation $D(x, t)$, $t = 0, \dots, T$, with $D(x, 0) = x$, and train a restoration
# network $R(x_t, t)$ to undo it: with $x_t = D(x, t)$,
#
# $$
# \min_\theta\ \mathbb{E}_{x,\ t \sim \mathcal{U}\{1..T\}} \big\| R_\theta(D(x, t), t) - x \big\|_1 .
# $$ (eq-cold-loss)
#
# The library trains this with the same loop as DDPM (`lib.processes.training_loss`): a cold process's
# `degrade` returns the pair $(D(x, t), x)$ where the Gaussian one returns $(z_t, \epsilon)$. Sampling
# goes from $x_T$ down to $t = 0$ with $\hat x_0 = R(x_s, s)$ at each step, in one of two ways:
#
# $$
# \text{Algorithm 1:}\quad x_{s-1} = D(\hat x_0, s-1),
# \qquad\qquad
# \text{Algorithm 2:}\quad x_{s-1} = x_s - D(\hat x_0, s) + D(\hat x_0, s-1).
# $$ (eq-cold-sampling)
#
# Both return $x$ exactly when the restoration is perfect. When it is not, Algorithm 1 re-degrades a
# wrong $\hat x_0$ and carries its whole error to the next step, while Algorithm 2 moves $x_s$ only by
# the *difference* between two degradations of $\hat x_0$: for a degradation that changes the image
# little from one step to the next, errors in $\hat x_0$ largely cancel in that difference
# {cite:p}`bansal2022cold`.

# %% [markdown]
# ## Three degradations on the same digits
#
# `lib.degradations` implements each degradation as a forward process (the same interface as DDPM's
# Gaussian noise, so training, checkpoints, sampling and the command line are shared):
#
# - **Gaussian blur** (`Blur`): step $i$ convolves with a $k \times k$ Gaussian kernel; $D(x, t)$
#   applies the kernels of steps $1, \dots, t$ in turn. The paper's MNIST setting uses the same
#   $11 \times 11$ kernel of standard deviation 7 at all $T = 20$ steps, with circular padding. The
#   "individual" routine applies only the kernel of step $t$, as one coursework seed did by mistake:
#   with a constant kernel every step then equals step 1.
# - **Row or column averaging** (`Average`), one seed's design: step $t$ replaces each of the first $t$
#   groups of lines (in a fixed order: random, outside-in or inside-out) by its mean value. After all
#   $T$ steps only the 28 line means are left.
# - **Downsampling** (`Downsample`, super-resolution in the paper): $D(x, t)$ averages the image down to
#   $28 - t$ pixels a side and scales it back up; after $T = 24$ steps a $4 \times 4$ image is left.
#
# ```{note}
# In JupyterLab the slider in the next cell moves $t$ through the chosen degradation. It needs a
# running Python kernel, so the rendered book shows the figure beneath it instead, which samples the
# same degradations at five steps.
# ```

# %%
processes = {name: get_config(name).make_process() for name in ("blur", "rows-outside-in", "columns-random",
                                                                  "downsample")}
processes["blur, individual kernels"] = get_config(
    "blur", process_options={"kernel_size": 11, "std": 7.0, "routine": "individual"}).make_process()
digits = load_mnist("test", limit=4).images
widgets.degradation_slider(processes["rows-outside-in"], digits)

# %% mystnb={"figure": {"caption": "Four test digits under each degradation at five steps from t = 0 (the digit) to t = T (fully degraded). With individual kernels, blur never goes past its first step.", "name": "fig-degradations"}} tags=["hide-input"]
fig, axes = plt.subplots(len(processes), 5, figsize=(12, 2.3 * len(processes)))
for row, (name, process) in zip(axes, processes.items()):
    for ax, frac in zip(row, (0, 0.25, 0.5, 0.75, 1)):
        t = round(frac * process.T)
        viz.show_grid(process.degrade_to(digits, t), nrow=4, ax=ax, title=f"{name}: t = {t} of {process.T}")
plt.tight_layout()
plt.show()

# %%
individual = processes["blur, individual kernels"]
assert torch.allclose(individual.degrade_to(digits, individual.T), individual.degrade_to(digits, 1))

# %% [markdown]
# Two things to see. Blur removes the digit's detail from the finest scales up: after 20 steps of a
# standard deviation of 7 pixels only the mean level is left, a uniform grey. Row averaging keeps each
# row's ink total, so the fully averaged image is a vertical "profile" of the digit: it still says how
# much ink each row holds, and a restoration has to invent how that ink is spread along the row. Which
# way the lines run therefore decides what is kept and what must be invented; the generation section
# measures what that does to the samples.
#
# ## The paper's MNIST deblurring, before any training
#
# Table 1 of {cite:t}`bansal2022cold` measures deblurring on MNIST: how far the fully blurred test
# digits are from the originals ("degraded"), and how far the network's restorations are. Its
# degraded row needs no network, so it checks that our degradation is the paper's: the authors'
# code resizes MNIST to 35 pixels and crops the centre 32 (configuration field `image_size = 32`),
# blurs with circular padding, and computes RMSE over all pixels in $[0, 1]$ and SSIM with an
# $11 \times 11$ Gaussian window of standard deviation 1.5 (`lib.metrics.rmse`, `lib.metrics.ssim`).
# Below, the same measurement with other paddings shows how much that detail matters.

# %%
paper = {"rmse": 0.287, "ssim": 0.287}  # Table 1 of Bansal et al. (2022), MNIST, degraded row
n_table = 200 if SHORT else 1000
cfg = get_config("blur-paper")
originals = load_mnist("test", limit=n_table, image_size=cfg.image_size).images
rows = []
for padding in ("circular", "reflect", "zeros"):
    process = get_config("blur-paper", process_options={**cfg.process_options, "padding": padding}).make_process()
    degraded = to_uint8(process.degrade_to(originals, process.T))[:, 0]
    rows.append({"padding": padding, "RMSE": rmse(to_uint8(originals)[:, 0], degraded),
                 "SSIM": ssim(to_uint8(originals)[:, 0], degraded)})
rows.append({"padding": "paper (Table 1)", "RMSE": paper["rmse"], "SSIM": paper["ssim"]})
display(Table(rows, formats={"RMSE": ".3f", "SSIM": ".3f"},
              caption=f"Degraded row: D(x, T) against x for the first {n_table} test digits at 32 pixels"))
ours = rows[0]
by_padding = {r["padding"]: r for r in rows}
# the paper's degradation reproduces its degraded RMSE to within 0.01; reflect padding, which also keeps
# the image's mean, gives the same; zero padding lets ink leak out at the border and is far off
assert abs(ours["RMSE"] - paper["rmse"]) < 0.01
assert abs(by_padding["reflect"]["RMSE"] - ours["RMSE"]) < 0.005
assert by_padding["zeros"]["RMSE"] - paper["rmse"] > 0.1

# %% [markdown]
# With circular padding our degraded RMSE matches the paper's to within 0.01. Zero padding lets the
# image's ink leak out at the border at every step and gives a very different number; reflect padding,
# which like circular padding keeps the image's mean, gives the same one (after 20 steps both leave a
# uniform grey at the mean level). So RMSE checks the degradation's overall effect and is comparable
# with Table 1 once the degradation is the paper's. SSIM is not: the paper's degraded SSIM of 0.287 is more than ten times what the same SSIM
# function gives on these images, with every padding. We could not find a setting of the authors' code
# that produces it, so this chapter reports SSIM as computed and compares only RMSE with the paper.

# %%
assert all(r["SSIM"] < paper["ssim"] / 10 for r in rows[:3])

# %% [markdown]
# ## Where generation starts
#
# A deterministic process has no random start: $D(x, T)$ of every digit is a near-uniform grey for
# blur. To generate, {cite:t}`bansal2022cold` fit a Gaussian mixture to what the fully degraded
# training images keep (for blur, the mean level of each image), sample a start from it, and add a
# little Gaussian noise; without that noise, one start always restores to one image. The library
# does this in each process's `fit` (called by training) and `prior`: the *summary* of a fully degraded
# image is its mean level for blur, its 28 line means for averaging, and its $4 \times 4$ pixels for
# downsampling; the mixture has 10 components.

# %% mystnb={"figure": {"caption": "Starts for generation: fully degraded test digits (top of each pair) and starts drawn from the mixture fitted on fully degraded training digits (bottom), for blur, row averaging and downsampling.", "name": "fig-starts"}} tags=["hide-input"]
train_images = load_mnist("train", limit=5_000 if SHORT else 55_000).images
start_names = ("blur", "rows-outside-in", "downsample")
fig, axes = plt.subplots(2, len(start_names), figsize=(12, 5.5))
for col, name in enumerate(start_names):
    process = processes[name]
    process.fit(train_images, torch.Generator().manual_seed(0))
    real_starts = process.degrade_to(load_mnist("test", limit=8).images, process.T)
    drawn = process.prior((8, 1, 28, 28), torch.Generator().manual_seed(1))
    viz.show_grid(real_starts, nrow=4, ax=axes[0, col], title=f"{name}: D(x, T) of test digits")
    viz.show_grid(drawn, nrow=4, ax=axes[1, col], title=f"{name}: drawn starts")
plt.tight_layout()
plt.show()

# %%
blur_levels = processes["blur"].summary(processes["blur"].degrade_to(train_images, 20)).squeeze(1)
within = processes["blur"].degrade_to(train_images[:500], 20).std((2, 3)).mean().item()
print(f"mean level of fully blurred training digits: {blur_levels.mean():.3f} +- {blur_levels.std():.3f} (in [-1, 1])")
print(f"pixel-to-pixel variation inside one fully blurred digit: {within:.4f}; "
      f"start noise: {processes['blur'].start_noise}")
assert within < 2 * processes["blur"].start_noise

# %% [markdown]
# A fully blurred digit is flat to within about the start noise, so the mixture over its single mean
# level describes it completely, and the digit to come is decided only by that level and the noise.
# The averaged and downsampled starts keep more: a profile, or a coarse image, whose shapes already
# hint at the digit. How much diversity each start allows is what the generation section measures.
#
# ## Recap
#
# - Cold diffusion trains a restoration $R(D(x, t), t) \approx x$ ({eq}`eq-cold-loss`) for any
#   degradation $D$; the library's cold processes share DDPM's training loop, checkpoints and sampler.
# - Algorithm 2 ({eq}`eq-cold-sampling`) moves the sample by the difference of two degradations of
#   $\hat x_0$, which cancels much of the restoration's error; Algorithm 1 does not.
# - The paper's MNIST blur (32 pixels, $11 \times 11$, standard deviation 7, 20 steps, circular
#   padding) is reproduced: its degraded RMSE matches Table 1; its SSIM column does not reproduce.
# - Generation starts from a mixture fitted to the fully degraded training images, plus noise.
