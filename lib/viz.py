"""Figures for the chapters: image grids, schedules, loss curves, and animations whose JavaScript
player works in the static HTML book (no kernel needed).

Images are drawn as uint8 arrays (:func:`to_uint8`): (N, H, W) grey, or (N, H, W, 3) in colour (RGB,
channels last), the format of :func:`lib.data.to_image_array` and of the sample grids a run records."""
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
    """Images as uint8 (N, H, W) (grey) or (N, H, W, 3) (colour). Accepts those, (H, W), or the network's
    (N, C, H, W) with C = 1 or 3; uint8 arrays/tensors, or floats in the model range [-1, 1]."""
    x = images.detach().cpu() if isinstance(images, torch.Tensor) else torch.as_tensor(np.asarray(images))
    if x.ndim == 2:
        x = x[None]
    if x.ndim == 4 and x.shape[1] in (1, 3):  # the network's (N, C, H, W) -> the drawn layout
        x = x[:, 0] if x.shape[1] == 1 else x.permute(0, 2, 3, 1)
    if not (x.ndim == 3 or (x.ndim == 4 and x.shape[-1] == 3)):
        raise ValueError(f"expected grey or RGB images shaped (N, H, W), (N, H, W, 3) or (N, C, H, W) with "
                         f"C = 1 or 3, got {tuple(x.shape)}")
    return (x if x.dtype == torch.uint8 else data_to_uint8(x)).numpy()


def tile(images, nrow: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile N images into one array with ``nrow`` images per row and ``pad`` grey pixels between:
    (rows, columns) for grey images, (rows, columns, 3) for RGB ones."""
    x = to_uint8(images)
    n, h, w = x.shape[:3]
    nrow = nrow or int(np.ceil(np.sqrt(n)))
    ncol_rows = int(np.ceil(n / nrow))
    out = np.full((ncol_rows * (h + pad) + pad, nrow * (w + pad) + pad, *x.shape[3:]), 128, np.uint8)
    for i in range(n):
        r, c = divmod(i, nrow)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = x[i]
    return out


def show_grid(images, nrow: int | None = None, ax=None, title: str | None = None):
    """Show images as one grid (grey ones in grey levels, white digits on black as MNIST; RGB in colour)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3, 3))
    ax.imshow(tile(images, nrow), cmap="gray", vmin=0, vmax=255)  # the colour map applies to grey images only
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


def plot_loss_comparison(histories: dict[str, dict], axes=None, scale: dict[str, float] | None = None,
                         own_axis: Sequence[str] = ()):
    """Several runs' losses overlaid, one colour per run: the training loss per iteration as its moving
    mean over one epoch (left), and the training (solid) and validation (dashed) loss per epoch (right).
    ``scale`` multiplies a run's losses (e.g. 2 for SmoothL1, which is half the squared error below 1)
    and is named in its label. Runs in ``own_axis`` are drawn against a second y axis on the right of
    each panel: for a loss in other units (L1's mean absolute error beside squared errors), whose shape
    compares but not its level. Losses of runs that train on other noise levels or another loss are not
    comparable in level: see :func:`lib.compare.loss_by_noise_level` for that."""
    if not histories:
        raise ValueError("plot at least one run's losses")
    scale = scale or {}
    unknown = [n for n in [*scale, *own_axis] if n not in histories]
    if unknown:
        raise ValueError(f"scale or own_axis names runs {unknown} that are not among {list(histories)}")
    if own_axis and len(own_axis) == len(histories):
        raise ValueError("own_axis must leave at least one run on the main axis")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    twins = [ax.twinx() for ax in axes] if own_axis else None
    for i, (name, h) in enumerate(histories.items()):
        missing = [k for k in ("iter_loss", "epoch", "train_loss", "val_loss") if not h.get(k)]
        if missing:
            raise ValueError(f"the history of '{name}' has no {missing}")
        k = float(scale.get(name, 1.0))
        label = name if k == 1 else f"{name} (x {k:g})"
        where = twins if name in own_axis else axes
        if name in own_axis:
            label += ", right axis"
        it = k * np.asarray(h["iter_loss"], dtype=float)
        w = max(1, len(it) // len(h["epoch"]))
        where[0].plot(np.arange(w, len(it) + 1), moving_average(it, w), lw=1.2, color=f"C{i}", label=label)
        where[1].plot(h["epoch"], k * np.asarray(h["train_loss"]), "-", lw=1.2, color=f"C{i}", label=f"{label}, training")
        where[1].plot(h["epoch"], k * np.asarray(h["val_loss"]), "--", lw=1.2, color=f"C{i}", label=f"{label}, validation")
    axes[0].set(yscale="log", xlabel="iteration", ylabel="training loss (moving mean over one epoch)")
    axes[1].set(yscale="log", xlabel="epoch", ylabel="loss per epoch")
    for j, ax in enumerate(axes):
        ax.grid(alpha=0.3, which="both")
        handles, labels = ax.get_legend_handles_labels()
        if twins:
            twins[j].set(yscale="log", ylabel=f"loss of {', '.join(own_axis)}")
            if len(own_axis) == 1:  # one run on the right: its colour marks the axis it is read against
                color = f"C{list(histories).index(own_axis[0])}"
                twins[j].yaxis.label.set_color(color)
                twins[j].tick_params(axis="y", which="both", colors=color)
            more = twins[j].get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        ax.legend(handles, labels, fontsize=7)
    return axes


def grid_at(history: dict, epoch: int, name: str = "run") -> torch.Tensor:
    """The sample grid ``history`` recorded at ``epoch`` (uint8 images from the run's fixed noise)."""
    if epoch not in history.get("grid_epochs", []):
        raise ValueError(f"{name} has no sample grid at epoch {epoch}; it recorded grids at {history.get('grid_epochs', [])}")
    return history["grids"][history["grid_epochs"].index(epoch)]


def plot_runs_at_epochs(histories: dict[str, dict], epochs: Sequence[int], nrow: int = 4, size: float = 2.3):
    """Several runs' sample grids side by side (one column per run, one row per epoch of ``epochs``), each
    from the grids the run recorded while training (the same starting noise for every run with one seed)."""
    missing = [(n, e) for n, h in histories.items() for e in epochs if e not in h.get("grid_epochs", [])]
    if not histories or missing:
        raise ValueError(f"no sample grid for (run, epoch) {missing}; use epochs every run recorded"
                         if missing else "plot at least one run's grids")
    fig, axes = plt.subplots(len(epochs), len(histories), figsize=(size * len(histories), (size + 0.2) * len(epochs)),
                             squeeze=False)
    for col, (name, h) in enumerate(histories.items()):
        for row, e in enumerate(epochs):
            show_grid(grid_at(h, e, name), nrow, ax=axes[row, col], title=f"{name}, epoch {e}")
    fig.tight_layout()
    return fig


def plot_rows(rows: dict[str, object], n: int = 8, width: float = 10, row_height: float = 1.45):
    """One strip of the first ``n`` images per entry of ``rows`` (title: its key), stacked top to bottom;
    each entry takes what :func:`to_uint8` takes (uint8, or floats in the model range)."""
    if not rows:
        raise ValueError("plot_rows needs at least one row of images")
    strips = {label: to_uint8(images) for label, images in rows.items()}
    short = {label: len(u) for label, u in strips.items() if len(u) < n}
    if short:
        raise ValueError(f"rows with fewer than n = {n} images: {short}; pass n <= the shortest row")
    fig, axes = plt.subplots(len(strips), 1, figsize=(width, row_height * len(strips)), squeeze=False)
    for ax, (label, u) in zip(axes[:, 0], strips.items()):
        show_grid(u[:n], nrow=n, ax=ax, title=label)
    fig.tight_layout()
    return fig


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
    h, w = tiles[0][0].shape[:2]
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


def plot_noise_level_losses(curves: dict[str, dict], ax=None, title: str | None = None):
    """The squared error of the predicted noise against the noise level, one line per run, from
    :func:`lib.compare.loss_by_noise_level` (name -> its result). The x axis is log-SNR, decreasing to
    the right, so that left to right follows the forward process from clean digits to noise."""
    if not curves:
        raise ValueError("plot at least one run's loss by noise level")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, c in curves.items():
        ax.plot(np.asarray(c["log_snr"]), np.asarray(c["mse"]), "o-", ms=3, lw=1.2, label=name)
    ax.set(yscale="log", xlabel="log-SNR of $z_t$, $\\log(\\bar\\alpha_t / (1 - \\bar\\alpha_t))$ (noisier to the right)",
           ylabel="squared error of the predicted noise")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_score_curves(summaries: dict[str, list[dict]], field: str = "fid", floor: Sequence[dict] | None = None,
                      ax=None, title: str | None = None, colour_order: Sequence[str] | None = None):
    """One score per epoch for several runs (name -> :func:`lib.compare.score_summary` rows), with a bar
    of one standard deviation where an epoch has several independent sets, and the real-digit floor
    (:func:`lib.compare.real_floor`: its mean as a line, its range as a band) when given. A run's colour
    and marker follow its place in ``colour_order`` (default: ``summaries``' own order), so panels that
    show subsets of one list of runs keep each run's colour."""
    if not summaries:
        raise ValueError("plot at least one run's scores")
    order = list(colour_order) if colour_order is not None else list(summaries)
    missing = [name for name in summaries if name not in order]
    if missing:
        raise ValueError(f"runs {missing} are not in colour_order {order}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    many = len(order) > len(cycle)  # more runs than the colour cycle: 20 colours and alternating markers
    for name, rows in summaries.items():
        if any(field not in r for r in rows):
            raise ValueError(f"the rows of '{name}' have no score '{field}'")
        i = order.index(name)
        style = ({"color": plt.get_cmap("tab20")(i % 20), "marker": "osD^v"[i % 5]} if many
                 else {"color": cycle[i], "marker": "o"})
        ax.errorbar([r["epoch"] for r in rows], [r[field] for r in rows], yerr=[r[f"{field}_sd"] for r in rows],
                    ls="-", ms=3, lw=1.2, capsize=3, label=name, **style)
    if floor:
        values = [f[field] for f in floor]
        ax.axhline(float(np.mean(values)), color="k", lw=0.8, ls="--", label=f"real digits (floor, {len(values)} sets)")
        ax.axhspan(min(values), max(values), color="k", alpha=0.08)
    ax.set(yscale="log" if field == "fid" else "linear", xlabel="epoch", ylabel=field.upper()
           if field in ("fid", "kid", "is") else field)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_class_shares(counts: dict[str, Sequence[int]], ax=None, fontsize: int = 9):
    """Grouped bars: for each run (name -> its 10 class counts, as the book's classifier read its samples)
    the share of its samples read as each digit, with the 10% a perfect generator draws as a dashed line."""
    if not counts:
        raise ValueError("plot at least one run's class counts")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / len(counts)
    for i, (name, c) in enumerate(counts.items()):
        c = np.asarray(c, dtype=float)
        if c.shape != (10,) or c.sum() <= 0 or (c < 0).any():
            raise ValueError(f"'{name}': expected 10 non-negative class counts with a positive sum, got {c.tolist()}")
        ax.bar(np.arange(10) + (i - (len(counts) - 1) / 2) * width, c / c.sum(), width, label=name)
    ax.axhline(0.1, color="k", lw=0.8, ls="--")
    ax.set(xticks=range(10), xlabel="digit read by the classifier", ylabel="share of the samples")
    ax.legend(fontsize=fontsize)
    return ax


def plot_run_panel(name: str, history: dict, epoch: int, axes=None, loss_range: tuple[float, float] | None = None):
    """One run at one epoch: its sample grid of that epoch (the same starting noise at every epoch and,
    for runs with one seed, in every run) above its validation loss per epoch, marked at ``epoch``
    (with the EMA weights' loss when the run kept them). ``loss_range`` fixes the loss axis, so that
    panels of several runs compare at a glance."""
    grid = grid_at(history, epoch, f"run '{name}'")
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(3.4, 5.2), gridspec_kw={"height_ratios": [1.15, 1]})
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


def _png_uri(save) -> str:
    """The PNG that ``save(buffer)`` writes, as a data URI."""
    import base64
    import io

    buffer = io.BytesIO()
    save(buffer)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def palette_png(fig, dpi: float | None = None, colors: int = 64) -> bytes:
    """A matplotlib figure as PNG bytes reduced to an adaptive palette of ``colors`` (line plots and
    grey digits need few: a third of the bytes of the RGBA PNG, which matters where a page embeds the
    image, as a widget's saved state or a switcher does). ``dpi`` defaults to the figure's. The figure
    is closed."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, facecolor="white", bbox_inches="tight")
    plt.close(fig)
    out = io.BytesIO()
    Image.open(buffer).convert("RGB").quantize(colors).save(out, format="png", optimize=True)
    return out.getvalue()


def _png_data_uri(fig) -> str:
    """A matplotlib figure as a 32-colour PNG data URI at 72 dpi (the figure is closed)."""
    png = palette_png(fig, dpi=72, colors=32)
    return _png_uri(lambda buffer: buffer.write(png))


def _grid_data_uri(images, nrow: int | None = None, grey_levels: int = 256) -> str:
    """Images tiled (:func:`tile`) as a greyscale PNG data URI at one pixel per pixel: a few kB per grid
    (half the size of an RGBA one, which matters where a page embeds dozens). ``grey_levels=16`` rounds
    each pixel to the nearest of 16 evenly spaced greys (an error of at most 8 of 255) and stores 4 bits
    per pixel, about 2.5 times smaller again."""
    from PIL import Image

    grid = tile(images, nrow)
    if grey_levels == 256:
        return _png_uri(lambda buffer: Image.fromarray(grid).save(buffer, format="png", optimize=True))
    if grey_levels != 16:
        raise ValueError(f"grey_levels must be 256 or 16, got {grey_levels!r}")
    image = Image.fromarray(np.rint(grid / 17.0).astype(np.uint8), mode="L").convert("P")
    image.putpalette([17 * v for v in range(16) for _ in range(3)])
    return _png_uri(lambda buffer: image.save(buffer, format="png", optimize=True, bits=4))


def menu_switcher(menus: dict[str, tuple[str, Sequence, object]], columns: Sequence[tuple[str | None, Sequence]],
                  images: dict[str, str], top: Sequence[str] = (), prefix: str = "sw"):
    """Images chosen by menus, for the static HTML book: a few lines of JavaScript, no kernel.

    ``menus`` maps a role to (label, options, chosen option). ``top`` lists the roles whose menus sit
    above everything; each column is (role of the menu at its head, or None; panels), and each panel is
    (name, roles, width in CSS pixels or None): it shows ``images[value of role 1 + "|" + value of role
    2 ...]`` for the menus' current values. Every image must be in ``images`` (a data URI per key)."""
    import html
    import itertools
    import json
    import uuid

    for role, (_, options, chosen) in menus.items():
        if chosen not in list(options):
            raise ValueError(f"menu {role!r}: {chosen!r} is not one of its options {list(options)}")
    panels = [panel for _, column in columns for panel in column]
    needed = set()
    for name, roles, _ in panels:
        unknown = [r for r in roles if r not in menus]
        if unknown:
            raise ValueError(f"panel {name!r} names no menu {unknown}; menus are {list(menus)}")
        for combo in itertools.product(*(list(menus[r][1]) for r in roles)):
            key = "|".join(map(str, combo))
            if key not in images:
                raise ValueError(f"panel {name!r} has no image for {dict(zip(roles, combo))}")
            needed.add(key)
    uid = prefix + uuid.uuid4().hex[:8]

    def menu(role):
        label, options, chosen = menus[role]
        items = "".join(f'<option value="{html.escape(str(o))}"{" selected" if o == chosen else ""}>'
                        f'{html.escape(str(o))}</option>' for o in options)
        return (f'<label style="margin-right:12px">{html.escape(label)} '
                f'<select id="{uid}-{role}" aria-label="{html.escape(label)}">{items}</select></label>')

    def img(name, roles, width):  # the script sets src from ``images`` (each image is in the page once)
        style = f"width:{width}px;image-rendering:pixelated" if width else "max-width:100%"
        return f'<img id="{uid}-{name}-img" alt="{html.escape(name)}" style="{style}"><br>'

    body = "".join(
        f'<div style="display:inline-block;vertical-align:top;margin-right:12px">'
        f'{menu(head) + "<br>" if head else ""}{"".join(img(*panel) for panel in column)}</div>'
        for head, column in columns)
    spec = {name: list(roles) for name, roles, _ in panels}
    script = (f"<script>(function(){{var images={json.dumps({k: images[k] for k in sorted(needed)})};"
              f"var panels={json.dumps(spec)};var roles={json.dumps(list(menus))};"
              f"function value(r){{return document.getElementById('{uid}-'+r).value;}}"
              f"function show(){{Object.keys(panels).forEach(function(p){{"
              f"document.getElementById('{uid}-'+p+'-img').src=images[panels[p].map(value).join('|')];}});}}"
              f"roles.forEach(function(r){{document.getElementById('{uid}-'+r).addEventListener('change',show);}});"
              f"show();}})();</script>")
    head = "".join(menu(r) for r in top)
    return f'<div id="{uid}" class="menu-switcher"><div>{head}</div>{body}{script}</div>'


def _run_curve(name: str, history: dict, epochs: Sequence[int], loss_range: tuple[float, float]):
    """A run's validation loss per epoch (and its EMA weights' loss), the ``epochs`` marked."""
    fig, ax = plt.subplots(figsize=(3.4, 2.5))
    ax.plot(history["epoch"], history["val_loss"], "-", color="C0", lw=1.2, label="validation loss")
    if history.get("val_loss_ema"):
        ax.plot(history["epoch"], history["val_loss_ema"], "-", color="C1", lw=1.2, label="EMA weights")
    for e in epochs:
        ax.axvline(e, color="k", lw=0.5, ls=":")
    ax.set(yscale="log", xlabel="epoch", ylabel="validation loss", ylim=loss_range, title=name)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def run_switcher(histories: dict[str, dict], epochs: Sequence[int] | None = None, first: str | None = None,
                 second: str | None = None):
    """Two runs side by side, for the static HTML book: a menu above each column picks its run, a third
    picks the epoch (one of the epochs every run has a grid for). Each column shows the run's sample grid
    at that epoch (the same starting noise for every run and epoch) above its validation loss per epoch,
    on one loss scale for all runs, the menu's epochs dotted. Every grid and every run's curve is drawn
    once, in advance, as a PNG, and :func:`menu_switcher` swaps them in."""
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
            images[f"{n}|{e}"] = _grid_data_uri(grid_at(histories[n], e, n), grey_levels=16)  # a square grid
        images[n] = _png_data_uri(_run_curve(n, histories[n], epochs, loss_range))
    menus = {"epoch": ("epoch", epochs, epochs[-1]), "left": ("left run", names, first),
             "right": ("right run", names, second)}
    columns = [(side, [(side, (side, "epoch"), 190), (f"{side}-curve", (side,), None)]) for side in ("left", "right")]
    return HTML(menu_switcher(menus, columns, images, top=("epoch",), prefix="rs"))


def plot_guidance_grid(samples: dict, per_cell: int = 4, size: float = 1.0):
    """Every digit (rows) at every guidance weight (columns): the first ``per_cell`` samples of each
    (digit, weight) of :func:`lib.guidance.guided_samples`, in one row per cell."""
    digits = sorted({d for d, _ in samples})
    weights = sorted({w for _, w in samples})
    fig, axes = plt.subplots(len(digits), len(weights), figsize=(size * len(weights) * per_cell / 2.2,
                                                                 size * len(digits) / 1.6), squeeze=False)
    for i, d in enumerate(digits):
        for j, w in enumerate(weights):
            ax = axes[i, j]
            ax.imshow(tile(samples[d, w][:per_cell], nrow=per_cell), cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_title(f"w = {w:g}", fontsize=9)
            if j == 0:
                ax.set_ylabel(str(d), rotation=0, labelpad=10, fontsize=9, va="center")
    fig.tight_layout(pad=0.3)
    return fig


def guidance_switcher(samples: dict, first_digit: int | None = None, first_weight: float | None = None):
    """The static counterpart of :func:`lib.widgets.guidance_explorer`: menus pick a digit and a
    guidance weight and show that pair's samples (:func:`lib.guidance.guided_samples`), every grid
    drawn in advance."""
    from IPython.display import HTML

    digits = sorted({d for d, _ in samples})
    weights = sorted({w for _, w in samples})
    images = {f"{d}|{w:g}": _grid_data_uri(x) for (d, w), x in samples.items()}
    menus = {"digit": ("digit", digits, digits[0] if first_digit is None else first_digit),
             "guidance": ("guidance weight w", [f"{w:g}" for w in weights],
                          f"{weights[-1] if first_weight is None else first_weight:g}")}
    columns = [(None, [("samples", ("digit", "guidance"), 240)])]
    return HTML(menu_switcher(menus, columns, images, top=("digit", "guidance"), prefix="gs"))
