"""Figures for the chapters: image grids, schedules, loss curves, and animations whose JavaScript
player works in the static HTML book (no kernel needed)."""
from __future__ import annotations

import re
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib import animation

from .data import to_uint8 as data_to_uint8
from .schedules import Schedule


def to_uint8(images) -> np.ndarray:
    """Images as uint8 (N, H, W): accepts uint8 arrays/tensors, or floats in the model range [-1, 1]."""
    x = images.detach().cpu() if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.ndim == 4:
        if x.shape[1] != 1:
            raise ValueError(f"expected single-channel images (N, 1, H, W), got {tuple(x.shape)}")
        x = x[:, 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise ValueError(f"expected images shaped (N, H, W) or (N, 1, H, W), got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        return x.numpy()
    return data_to_uint8(x).numpy()


def tile(images, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile N images into one array with ``nrow`` images per row and ``pad`` grey pixels between."""
    x = to_uint8(images)
    n, h, w = x.shape
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol_rows = int(np.ceil(n / nrow))
    out = np.full((ncol_rows * (h + pad) + pad, nrow * (w + pad) + pad), 128, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = x[i]
    return out


def show_grid(images, nrow: int | None = None, ax=None, title: str | None = None):
    """Show images as one grid (white digits on black, as MNIST)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(tile(images, nrow), cmap="gray", vmin=0, vmax=255)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_schedules(schedules: Sequence[Schedule], ax=None):
    """alpha_bar_t against t for each schedule."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for s in schedules:
        t = np.arange(s.T + 1)
        ax.plot(t, s.alpha_bar.numpy(), label=f"{s.name} (alpha_bar_T = {s.alpha_bar[-1].item():.1e})")
    ax.set_xlabel("t")
    ax.set_ylabel(r"$\bar\alpha_t$")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def moving_average(values: Sequence[float], window: int) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    window = max(1, min(window, len(v)))
    return np.convolve(v, np.ones(window) / window, mode="valid")


def plot_loss_curves(history: dict, axes=None, label: str = ""):
    """Per-iteration training loss (raw and smoothed) and per-epoch training/validation loss."""
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    it = np.asarray(history["iter_loss"])
    per_epoch = len(it) / max(1, len(history["epoch"]))
    ax = axes[0]
    ax.plot(np.arange(1, len(it) + 1), it, lw=0.3, alpha=0.35, label=f"{label} per iteration".strip())
    w = max(1, int(per_epoch))
    ax.plot(np.arange(w, len(it) + 1), moving_average(it, w), lw=1.5,
            label=f"{label} moving mean over one epoch ({w} iterations)".strip())
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax = axes[1]
    ax.plot(history["epoch"], history["train_loss"], "o-", ms=2, label=f"{label} training".strip())
    ax.plot(history["epoch"], history["val_loss"], "s--", ms=2, label=f"{label} validation".strip())
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean loss per epoch")
    ax.legend(fontsize=10)
    ax.grid(alpha=0.3, which="both")
    return axes


def plot_grids_by_epoch(history: dict, nrow: int = 4, size: float = 2.3):
    """The sample grids recorded during training, one panel per recorded epoch (same noise each time),
    each ``size`` inches wide."""
    epochs, grids = history["grid_epochs"], history["grids"]
    fig, axes = plt.subplots(1, len(epochs), figsize=(size * len(epochs), size + 0.3), squeeze=False)
    for ax, e, g in zip(axes[0], epochs, grids):
        show_grid(g, nrow, ax=ax, title=f"epoch {e}")
    fig.tight_layout()
    return fig


def animate(frames: Sequence, titles: Sequence[str], nrow: int | None = None, rows: Sequence[str] | None = None,
            interval: int = 150, scale: int = 3):
    """A matplotlib animation over ``frames``; each frame is an image batch, or a tuple of batches
    shown as labelled rows (``rows``). Return it as ``HTML(anim.to_jshtml())`` (see :func:`jshtml`).

    Each image pixel becomes ``scale`` x ``scale`` screen pixels with no interpolation, which keeps
    the frames sharp and small (noise does not compress; resampled noise compresses even worse).
    """
    frames = [tuple(f) if isinstance(f, (tuple, list)) else (f,) for f in frames]
    if len(frames) != len(titles):
        raise ValueError(f"{len(frames)} frames but {len(titles)} titles")
    if rows is not None and len(rows) != len(frames[0]):
        raise ValueError(f"{len(rows)} row labels for {len(frames[0])} rows")
    tiles = [[tile(b, nrow) for b in f] for f in frames]
    h, w = tiles[0][0].shape
    k = len(tiles[0])
    dpi, title_px, label_px = 100, 18, (14 if rows else 0)
    width_px, height_px = w * scale + label_px, k * h * scale + title_px
    fig = plt.figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    ims = []
    for j in range(k):
        bottom = (k - 1 - j) * h * scale / height_px
        ax = fig.add_axes([label_px / width_px, bottom, w * scale / width_px, h * scale / height_px])
        ims.append(ax.imshow(tiles[0][j], cmap="gray", vmin=0, vmax=255, interpolation="nearest"))
        ax.set_axis_off()
        if rows:
            fig.text(label_px / 2 / width_px, bottom + h * scale / height_px / 2, rows[j], rotation=90,
                     ha="center", va="center", fontsize=8)
    title = fig.text(0.5, 1 - title_px / 2 / height_px, titles[0], ha="center", va="center", fontsize=9)

    def update(i):
        for im, t in zip(ims, tiles[i]):
            im.set_data(t)
        title.set_text(titles[i])
        return (*ims, title)

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    plt.close(fig)
    return anim


def jshtml(anim, embed_limit_mb: float = 5.0):
    """The animation as an HTML object carrying its frames and a JavaScript player with a slider."""
    from IPython.display import HTML

    import matplotlib

    with matplotlib.rc_context({"animation.embed_limit": embed_limit_mb}):
        html = anim.to_jshtml(default_mode="once")
    # matplotlib links a Font Awesome stylesheet from a CDN that the player does not need (its buttons
    # are inline SVG); drop it so the page makes no request that fails offline.
    html = re.sub(r'<link rel="stylesheet"\s+href="https://[^"]*font-awesome[^"]*">\s*', "", html)
    return HTML(html)


def matched_epochs(histories: dict[str, dict]) -> list[int]:
    """The epochs at which every run of ``histories`` (name -> history) recorded a sample grid."""
    if not histories:
        raise ValueError("compare at least one run")
    without = [name for name, h in histories.items() if not h.get("grid_epochs")]
    if without:
        raise ValueError(f"run(s) {without} recorded no sample grids; train them with sample_epochs")
    common = set.intersection(*(set(h["grid_epochs"]) for h in histories.values()))
    if not common:
        raise ValueError("the runs share no epoch with a sample grid; give them common sample_epochs")
    return sorted(common)


def plot_run_panel(name: str, history: dict, epoch: int, axes=None, loss_range: tuple[float, float] | None = None):
    """One run at one epoch: its sample grid of that epoch (the same starting noise at every epoch and,
    for runs with one seed, in every run) above its validation loss per epoch, marked at ``epoch``
    (with the EMA weights' loss when the run kept them). ``loss_range`` fixes the loss axis, so that
    panels of several runs compare at a glance."""
    if epoch not in history.get("grid_epochs", []):
        raise ValueError(f"run '{name}' has no sample grid at epoch {epoch}; it has {history.get('grid_epochs')}")
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(3.4, 5.2), gridspec_kw={"height_ratios": [1.15, 1]})
    grid = history["grids"][history["grid_epochs"].index(epoch)]
    show_grid(grid, nrow=int(np.ceil(np.sqrt(len(grid)))), ax=axes[0], title=f"{name}, epoch {epoch}")
    ax = axes[1]
    ax.plot(history["epoch"], history["val_loss"], "-", color="C0", lw=1.2, label="validation loss")
    if history.get("val_loss_ema"):
        ax.plot(history["epoch"], history["val_loss_ema"], "-", color="C1", lw=1.2, label="EMA weights")
    if epoch in history["epoch"]:
        i = history["epoch"].index(epoch)
        ax.plot([epoch], [history["val_loss"][i]], "o", color="k", ms=5)
    ax.axvline(epoch, color="k", lw=0.6, ls=":")
    ax.set(yscale="log", xlabel="epoch", ylabel="validation loss")
    if loss_range is not None:
        ax.set_ylim(*loss_range)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return axes


def _loss_range(histories: dict[str, dict]) -> tuple[float, float]:
    values = [v for h in histories.values() for key in ("val_loss", "val_loss_ema") for v in h.get(key) or []]
    return min(values) / 1.05, max(values) * 1.05


def _png_data_uri(fig) -> str:
    import base64
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=56)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def run_switcher(histories: dict[str, dict], epochs: Sequence[int] | None = None, first: str | None = None,
                 second: str | None = None):
    """Two runs side by side, for the static HTML book: a menu above each panel picks its run, a third
    picks the epoch (one of the epochs every run has a grid for), and the panels
    (:func:`plot_run_panel`) are swapped in by a few lines of JavaScript, with no kernel. Every
    (run, epoch) panel is drawn once, in advance, as a PNG."""
    import html
    import json
    import uuid

    from IPython.display import HTML

    names = list(histories)
    epochs = list(epochs) if epochs is not None else matched_epochs(histories)
    missing = [(n, e) for n in names for e in epochs if e not in histories[n].get("grid_epochs", [])]
    if missing:
        raise ValueError(f"no sample grid for (run, epoch) {missing}; use epochs every run recorded")
    first = first or names[0]
    second = second or names[min(1, len(names) - 1)]
    for pick in (first, second):
        if pick not in histories:
            raise ValueError(f"unknown run '{pick}'; choose from {names}")
    loss_range = _loss_range(histories)
    images = {}
    for n in names:
        for e in epochs:
            fig = plot_run_panel(n, histories[n], e, loss_range=loss_range)[0].figure
            fig.tight_layout()
            images[f"{n}|{e}"] = _png_data_uri(fig)
    uid = "rs" + uuid.uuid4().hex[:8]

    def menu(role, chosen, options):
        items = "".join(f'<option value="{html.escape(str(o))}"{" selected" if o == chosen else ""}>'
                        f'{html.escape(str(o))}</option>' for o in options)
        return f'<select id="{uid}-{role}" aria-label="{role}">{items}</select>'

    start_epoch = epochs[-1]
    columns = "".join(
        f'<div style="display:inline-block;vertical-align:top;margin-right:12px">{menu(role, pick, names)}<br>'
        f'<img id="{uid}-{role}-img" src="{images[f"{pick}|{start_epoch}"]}" alt="{role} run" style="max-width:100%"></div>'
        for role, pick in (("left", first), ("right", second)))
    script = (f"<script>(function(){{var images={json.dumps(images)};"
              f"function show(){{var e=document.getElementById('{uid}-epoch').value;"
              f"['left','right'].forEach(function(r){{var run=document.getElementById('{uid}-'+r).value;"
              f"document.getElementById('{uid}-'+r+'-img').src=images[run+'|'+e];}});}}"
              f"['left','right','epoch'].forEach(function(r){{document.getElementById('{uid}-'+r)"
              f".addEventListener('change',show);}});}})();</script>")
    body = (f'<div id="{uid}" class="run-switcher"><div>epoch {menu("epoch", start_epoch, epochs)}</div>'
            f"{columns}{script}</div>")
    return HTML(body)
