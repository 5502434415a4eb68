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
# # Hyperparameters, one factor at a time
#
# ```{admonition} In this chapter
# :class: tip
# - the coursework CNN of {doc}`01_ddpm_theory` trained under a dozen configurations that each change
#   **one thing** against the default (or, for the "harder" run, the three things one coursework seed
#   changed together, beside each change alone);
# - an **equal budget** for every run, the same data order and one evaluation protocol, so that
#   differences come from the change and not from the comparison;
# - what each change does to the loss, to the loss at each $t$, and to the samples, with the scores of
#   {doc}`02_metrics` and their spread.
# ```
#
# ```{note}
# This chapter is being written: its runs train one after another on a 2-core CPU (the status table
# below is computed from the checkpoints in the repository). The runs other than `ema` began on a GPU
# lent to this project for one session, all at once, and continue on the CPU from where it stopped;
# each run records where each stretch of it was trained, and the status table shows it once a run is
# in the repository. The first comparison, the default against an average of its weights, is below;
# the others are added as their runs finish.
# ```

# %%
from IPython.display import display

from lib import config, viz
from lib.compare import config_changes, run_status
from lib.configs import get_config
from lib.tables import Table

SHORT = config.short_mode()  # CI sets DIFFUSION_BOOK_SHORT=1: same code, fewer samples
print(f"short mode: {SHORT}")

# %% [markdown]
# ## The runs
#
# Each run is a named configuration of the library, trained by the book's own command
# (`python -m lib.train NAME --out checkpoints/NAME`, resumable with `--resume`; all of them in turn
# with `bash scripts/train_comparison.sh`). The table lists what each changes against the default
# configuration of {doc}`01_ddpm_theory`; it is computed from the configurations themselves.

# %%
RUNS = {
    "ema": "the default, retrained in fp32 with the same seed, also keeping an EMA of its weights",
    "harder": "one coursework seed's three changes together",
    "T100": "the first of them alone: 100 steps",
    "lr6e-4": "the second alone: three times the learning rate",
    "selu": "the third alone: SELU activations",
    "wide": "one more hidden layer, as another seed tried",
    "linear-T400": "the linear schedule at T = 400 (the reference for the schedules)",
    "quadratic-T400": "the quadratic schedule at T = 400",
    "sigmoid-T400": "the sigmoid schedule at T = 400",
    "cosine-T400": "the cosine schedule at T = 400",
    "l1": "L1 loss instead of the squared error",
    "smooth_l1": "SmoothL1 loss instead of the squared error",
}


def describe(changes: dict) -> str:
    return "; ".join(f"{field} {old} -> {new}" for field, (old, new) in changes.items())


base = get_config("default")
rows = []
for name, purpose in RUNS.items():
    cfg = get_config(name)
    changes = config_changes(cfg, base)
    # what every run of the comparison shares with the others is not a difference between them
    changes = {k: v for k, v in changes.items() if k not in ("epochs", "precision")}
    rows.append({"run": name, "what it tests": purpose, "changes against the default": describe(changes) or "none"})
display(Table(rows, caption="The comparison's runs; every run trains for 30 epochs in fp32 with the default's seed"))

# one factor at a time: "harder" changes its three things, a schedule run T and the schedule, every
# other run exactly one thing
n_changes = {r["run"]: r["changes against the default"].count("->") for r in rows}
expected = {"harder": 3, "quadratic-T400": 2, "sigmoid-T400": 2, "cosine-T400": 2}
assert all(n == expected.get(name, 1) for name, n in n_changes.items()), n_changes

# %% [markdown]
# The default's own 30-epoch weights come from the `ema` run: the default configuration trained again
# with the same seed and data order, in fp32 like every run here (the shipped default of chapter 1 was
# trained in bf16 on another machine, for 100 epochs), keeping both its raw weights, the baseline of
# every comparison, and an exponential moving average of them (decay 0.999), the weights
# {cite:t}`ho2020denoising` sample from. The schedules are compared at $T = 400$, as the coursework seed
# that compared them did, so they differ from the default in $T$ and in the schedule; `linear-T400` is
# their common reference.
#
# ## The budget
#
# Every run trains for the same **30 epochs** of the training digits, with the same data order. The
# next cell computes what that means in steps and in time, from the `ema` run's own history: its
# fastest epoch is the cost of an epoch when little else ran beside it. At that cost a run takes hours,
# and the comparison a day or more of CPU. That is why the budget is 30 epochs and not the 100 the
# coursework seeds trained for; weights are kept every 5 epochs, so every comparison can also be made at
# 5, 10, 15, 20 and 25 epochs. The wall-clock time of each run is recorded per epoch in its history and
# reported with the results, with a note where work beside it slowed it. Scoring costs as much again:
# sampling 1,000 steps per image, the scores of one run take nearly as long as its training (the
# cell's last line; the runs at $T = 100$ and $T = 400$ sample 10 and 2.5 times faster).

# %%
import json
import math

from lib.data import load_mnist
from lib.runs import load_trained

n_train = len(load_mnist("train").images)
steps_per_epoch = math.ceil(n_train / base.batch_size)
ema_run = load_trained(config.shipped_checkpoint("ema"))
fastest = min(ema_run.history["epoch_seconds"])
print(f"30 epochs of {n_train:,} training digits = {30 * steps_per_epoch:,} steps of {base.batch_size} images")
print(f"fastest epoch of the ema run so far: {fastest / 60:.1f} minutes, so 30 epochs take at least "
      f"{30 * fastest / 3600:.1f} hours; the {len(RUNS)} runs at least {len(RUNS) * 30 * fastest / 3600:.0f} hours")
assert get_config("ema").epochs == 30 and all(get_config(name).epochs == 30 for name in RUNS)
bench = json.loads((config.RESULTS_DIR / "bench.json").read_text())
sample_rate = bench["configs"]["default"]["sample_image_steps_per_s_library"]  # image-steps/s, 2 threads
scored_samples = 4 * 500 + 4 * 500  # 500 at epochs 5, 10, 15 and 20; four independent sets of 500 at epoch 30
print(f"scoring one run with T = 1000 ({scored_samples:,} samples of 1,000 steps): "
      f"{scored_samples * 1000 / sample_rate / 3600:.1f} hours at the benchmark's {sample_rate:.0f} image-steps/s")
assert 0.5 < scored_samples * 1000 / sample_rate / (30 * fastest) < 1  # nearly as long as training

# %% [markdown]
# ## Status of the runs

# %%
status = run_status(["ema", *[name for name in RUNS if name != "ema"]], config.CHECKPOINT_DIR)


def trained_on(s: dict) -> str:
    """Where a run was trained, stretch by stretch, from its history ('-' before it was recorded)."""
    if not s["trained"]:
        return ""
    return "; ".join(f"{d['device']} from epoch {d['from_epoch'] + 1}" for d in s["devices"]) or "-"


display(Table([{"run": name, "epochs trained": s["trained"], "planned": s["planned"],
                "state": ("done" if s["trained"] >= (s["planned"] or 0) else
                          "not started" if s["trained"] == 0 else "training")
                + (f" (unreadable: {s['error']})" if s["error"] else ""),
                "trained on": trained_on(s)}
               for name, s in status.items()],
              caption="Epochs trained so far, read from checkpoints/<run>/checkpoint.pt, and where each stretch of "
                      "a run was trained ('-': not recorded; the ema run was trained on this machine's CPU before "
                      "runs recorded it)"))
assert not any(s["error"] for s in status.values()), "a shipped checkpoint cannot be read"

# %% [markdown]
# ## The default, and an average of its weights
#
# The first run of the comparison is `ema`. Its raw weights are the default configuration at every
# epoch, the baseline of every comparison below; its averaged weights answer one question of the
# comparison: does sampling from an exponential moving average (EMA) of the weights help here, as
# {cite:t}`ho2020denoising` sample from one? After every optimiser step the average moves towards the
# weights by a thousandth, $\bar\theta \leftarrow 0.999\,\bar\theta + 0.001\,\theta$, starting from the
# initial weights. The run measures the validation loss of both after every epoch, on the same 5,000
# validation digits with the same noise and timesteps each time.

# %%
import matplotlib.pyplot as plt
import numpy as np

h = ema_run.history
epochs = np.array(h["epoch"])
raw_val, ema_val = np.array(h["val_loss"]), np.array(h["val_loss_ema"])
decay = ema_run.config.ema_decay
init_share = decay ** (epochs * steps_per_epoch)  # weight the average still gives the initial weights
below = ema_val < raw_val
crossing = int(epochs[np.argmax(below)]) if below.any() else None  # the first epoch the EMA is lower
lower_after = float(below[crossing - 1:].mean()) if crossing else 0.0  # share of epochs from then on
display(Table([{"epoch": int(e), "raw weights": r, "EMA weights": a, "EMA / raw": a / r,
                "share of the initial weights in the EMA": s}
               for e, r, a, s in zip(epochs, raw_val, ema_val, init_share) if e in (1, 2, 3, 5, 8, 10) or e % 5 == 0
               or e == crossing or e == epochs[-1]],
              formats={"raw weights": ".4f", "EMA weights": ".4f", "EMA / raw": ".2f",
                       "share of the initial weights in the EMA": ".4f"},
              caption=f"Validation loss of the ema run's raw and averaged weights (decay {decay}, "
                      f"{steps_per_epoch} steps per epoch)"))
print(f"the EMA weights first have the lower validation loss at epoch {crossing}, and at {lower_after:.0%} "
      f"of the epochs from then on")

# %% mystnb={"figure": {"caption": "Validation loss after each epoch, raw weights and their exponential moving average (decay 0.999). The average starts far behind, overtakes the raw weights once it has forgotten its start, and then falls smoothly where the raw weights' loss jumps up and down.", "name": "fig-ema-val"}} tags=["hide-input"]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(epochs, raw_val, "o-", label="raw weights")
ax.plot(epochs, ema_val, "s-", label=f"EMA weights (decay {decay})")
if crossing is not None:
    ax.axvline(crossing, color="grey", ls=":", lw=1, label=f"EMA first lower at epoch {crossing}")
ax.set_yscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("validation loss (MSE of the noise)")
ax.legend(fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# Two things decide the outcome, and the table shows both. First, the average starts at the random
# initial weights and keeps a share $0.999^n$ of them after $n$ steps: 65% after the first epoch's
# steps, under 1% only after 11 epochs. Until that share is small, the average is a blend of a trained
# network and a random one, and far worse than either would suggest. Second, even once the start is
# forgotten, the average lags: it weighs the weights of the last thousand or so steps, about two
# epochs, and while the raw weights still improve quickly, two epochs ago is worse than now. Only when
# the loss curve flattens does the average's benefit show: it smooths out the step-to-step noise of
# the optimiser, so its loss falls steadily where the raw weights' loss jumps up and down from one
# epoch to the next. The margin at the end is small, a few per cent of the loss at most (printed below);
# whether it shows in the samples is for the scores to decide. Short runs gain nothing from an EMA of
# decay 0.999 started cold, which is why chapter 5's short runs warm it up (a decay of
# $\min(0.999, (1 + n)/(10 + n))$ at step $n$).

# %%
raw_rises = int((np.diff(raw_val) > 0).sum())
ema_rises = int((np.diff(ema_val) > 0).sum())
print(f"epochs whose validation loss rose over the previous one: raw weights {raw_rises}, EMA weights {ema_rises}")
end_ratio = ema_val[-1] / raw_val[-5:].mean()  # against the raw weights' last five epochs, not one lucky epoch
print(f"EMA / raw after epoch 1: {ema_val[0] / raw_val[0]:.1f}; EMA at epoch {epochs[-1]} / raw over the last five "
      f"epochs: {end_ratio:.3f}")
forgotten = int(epochs[np.argmax(init_share < 0.01)])
print(f"share of the initial weights after epoch 1: {init_share[0]:.0%}; below 1% from epoch {forgotten}")
assert 0.6 < init_share[0] < 0.7 and forgotten == 11  # the text's 65% and 11 epochs
assert ema_val[0] > 4 * raw_val[0]  # far behind at first
assert crossing is not None and 10 <= crossing <= 16  # overtakes in the second third of the run ...
assert lower_after >= 0.8  # ... and stays lower at most epochs after
assert init_share[crossing - 1] < 0.01  # ... once it has forgotten its start
assert 0.94 < end_ratio < 1  # and ends lower, by a few per cent at most
assert raw_rises >= 3 and ema_rises <= 1  # the raw loss jumps; the average's falls almost steadily

# %% [markdown]
# The samples tell the same story. Training drew 16 samples from the same starting noise at a few
# epochs, from both sets of weights:

# %% mystnb={"figure": {"caption": "Sixteen samples from the same starting noise at each recorded epoch: the raw weights (top row) and their EMA (bottom row). At epoch 1 the average is still mostly the random initial network and draws noise; at epoch 5 its background is still grey; from epoch 10 on, both draw nearly the same digits from the same noise.", "name": "fig-ema-grids"}} tags=["hide-input"]
grid_epochs = h["grid_epochs"]
fig, axes = plt.subplots(2, len(grid_epochs), figsize=(2.3 * len(grid_epochs), 5.2), squeeze=False)
for col, e in enumerate(grid_epochs):
    viz.show_grid(h["grids"][col], 4, ax=axes[0, col], title=f"raw, epoch {e}")
    viz.show_grid(h["grids_ema"][col], 4, ax=axes[1, col], title=f"EMA, epoch {e}")
plt.tight_layout()
plt.show()

# %%
grid_gap = {e: (a.float() - b.float()).abs().mean().item() / 255 for e, a, b in zip(grid_epochs, h["grids"], h["grids_ema"])}
print("mean pixel difference between the raw and EMA samples (0 to 1): "
      + ", ".join(f"epoch {e}: {d:.3f}" for e, d in grid_gap.items()))
assert grid_gap[1] > 0.3 and all(d < 0.06 for e, d in grid_gap.items() if e >= 10)

# %% [markdown]
# Where in the process does the average help? The validation loss restricted to ranges of $t$
# (`lib.processes.loss_by_timestep`: every validation digit scored once per range, at the same $t$
# and noise for both sets of weights) splits the margin by timestep. One epoch's raw weights can be a
# lucky or an unlucky draw (the loss curve above jumps), so the comparison is made at three epochs
# whose weights the run kept.

# %%
from lib.processes import loss_by_timestep

val_digits = load_mnist("val", limit=500 if SHORT else 2000).images
by_t_epochs = [e for e in (20, 25) if e < ema_run.epoch] + [ema_run.epoch]
gains = {}
for e in by_t_epochs:
    by_t = {}
    for w in ("raw", "ema"):
        weights_run = load_trained(config.shipped_checkpoint("ema"), epoch=e, weights=w)
        edges, by_t[w] = loss_by_timestep(weights_run.model, weights_run.process, val_digits, bins=10, seed=0)
    gains[e] = 1 - by_t["ema"] / by_t["raw"]  # relative reduction of the loss by the average, per range of t
display(Table([{"t": f"{int(edges[b]) + 1}-{int(edges[b + 1])}",
                **{f"epoch {e}": float(g[b]) for e, g in gains.items()}} for b in range(len(edges) - 1)],
              formats={f"epoch {e}": "+.1%" for e in gains},
              caption=f"How much lower the EMA weights' validation loss is than the raw weights', by range of t "
                      f"({len(val_digits):,} validation digits; negative: the raw weights are lower)"))

# %% [markdown]
# Only one range of $t$ gains at every epoch: the smallest, $t \le 100$, where the loss is largest and
# the network predicts the faint noise left on an almost clean digit, the last detail of a sample.
# Everywhere else the sign changes from epoch to epoch: the average is steadier than the raw weights,
# not better at any particular stage of the process.

# %%
small_t = [float(g[0]) for g in gains.values()]
flips = sum(1 for b in range(1, len(edges) - 1) if len({bool(g[b] > 0) for g in gains.values()}) > 1)
print(f"gain at t <= 100: {', '.join(f'{x:.1%}' for x in small_t)}; other ranges whose sign changes between "
      f"the epochs: {flips} of {len(edges) - 2}")
assert min(small_t) > 0.01  # the average gains at small t at every epoch compared
assert len(gains) < 3 or flips >= 4  # elsewhere the sign is not stable

# %% [markdown]
# ## Any two runs, side by side
#
# Pick two runs and an epoch: each panel shows the run's 16 samples at that epoch, drawn from the same
# starting noise in every run and at every epoch (every run shares the seed), above its validation
# loss per epoch, on one loss scale for all runs (in the rendered book, dotted lines mark the epochs
# on offer; the widget marks the one chosen). The runs offered are those finished so far, and the
# `ema` run's averaged weights as a run of their own; the epochs are those at which every run recorded
# its samples. In JupyterLab the first cell gives menus and a slider that draw the panels live
# (`lib.widgets.run_comparison`); in the rendered book the second gives the same choice with every
# panel drawn in advance (`lib.viz.run_switcher`).

# %%
from lib import widgets

finished = {name: load_trained(s["path"]).history for name, s in status.items()
            if not s["error"] and s["trained"] >= (s["planned"] or 0) and s["trained"] > 0}
h_ema = finished["ema"]
h_raw = {**h_ema, "val_loss_ema": None}  # each panel shows the loss of the weights it samples from
averaged = {**h_ema, "val_loss": h_ema["val_loss_ema"], "grids": h_ema["grids_ema"], "val_loss_ema": None}
histories = {"default, raw weights": h_raw, "default, EMA weights": averaged,
             **{name: h for name, h in finished.items() if name != "ema"}}
print(f"runs to compare: {list(histories)}; epochs with samples in all of them: {viz.matched_epochs(histories)}")
assert len(histories) >= 2
widgets.run_comparison(histories)

# %%
viz.run_switcher(histories)
