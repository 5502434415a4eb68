"""ipywidgets sliders for JupyterLab (they need a running kernel). Each chapter pairs a slider with
a :func:`lib.viz.animate` player, which works in the static HTML book as well."""
from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .diffusion import q_sample
from .sampling import SampleResult
from .schedules import Schedule
from .viz import show_grid


def _slider_view(render, slider):
    import ipywidgets as widgets

    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            render(slider.value)
            plt.show()

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])


def forward_slider(schedule: Schedule, x0: torch.Tensor, generator: torch.Generator, step: int = 1):
    """Slide t from 0 to T: z_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, with one fixed eps."""
    import ipywidgets as widgets

    eps = torch.randn(x0.shape, generator=generator)
    slider = widgets.IntSlider(value=0, min=0, max=schedule.T, step=step, description="t",
                               continuous_update=True, layout=widgets.Layout(width="60%"))

    def render(t):
        z = q_sample(schedule, x0, torch.tensor(t), eps)
        _, ax = plt.subplots(figsize=(1.2 * x0.shape[0], 1.6))
        show_grid(z, nrow=x0.shape[0], ax=ax,
                  title=f"t = {t}, alpha_bar_t = {schedule.alpha_bar[t].item():.4f}")

    return _slider_view(render, slider)


def trajectory_slider(result: SampleResult, state: str = "z_t"):
    """Slide through a reverse trajectory stored by ``sample(..., trajectory=True)``: the state
    (``state`` names it: "z_t" for DDPM, "x_t" for a cold process) and x0_hat."""
    import ipywidgets as widgets

    if result.trajectory is None:
        raise ValueError("this SampleResult has no trajectory; sample with trajectory=True")
    n = len(result.timesteps)
    slider = widgets.IntSlider(value=0, min=0, max=n - 1, description="step",
                               layout=widgets.Layout(width="60%"))

    def render(i):
        k = result.trajectory.shape[1]
        fig, axes = plt.subplots(2, 1, figsize=(1.2 * k, 3.2))
        show_grid(result.trajectory[i], nrow=k, ax=axes[0], title=f"{state} at t = {result.timesteps[i]}")
        show_grid(result.x0_trajectory[i], nrow=k, ax=axes[1], title="predicted x0_hat")

    return _slider_view(render, slider)


def degradation_slider(process, x0: torch.Tensor, step: int = 1):
    """Slide t from 0 to T through a cold degradation: D(x0, t) for the images ``x0`` (model range)."""
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=0, min=0, max=process.T, step=step, description="t",
                               continuous_update=True, layout=widgets.Layout(width="60%"))

    def render(t):
        _, ax = plt.subplots(figsize=(1.2 * x0.shape[0], 1.6))
        show_grid(process.degrade_to(x0, t), nrow=x0.shape[0], ax=ax, title=f"{process!r}: t = {t}")

    return _slider_view(render, slider)


def run_comparison(histories: dict, first: str | None = None, second: str | None = None):
    """Pick two runs (name -> history) and an epoch with a grid in both: their sample grids and
    validation-loss curves side by side (:func:`lib.viz.plot_run_panel`), on one loss scale.
    :func:`lib.viz.run_switcher` is its counterpart in the static HTML book."""
    import ipywidgets as widgets
    from IPython.display import Image, display

    from .viz import _loss_range, matched_epochs, palette_png, plot_run_panel

    names = list(histories)
    epochs = matched_epochs(histories)
    left = widgets.Dropdown(options=names, value=first or names[0], description="left")
    right = widgets.Dropdown(options=names, value=second or names[min(1, len(names) - 1)], description="right")
    epoch = widgets.SelectionSlider(options=epochs, value=epochs[-1], description="epoch")
    loss_range = _loss_range(histories)
    out = widgets.Output()

    def redraw(change=None):
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(2, 2, figsize=(7, 5.2), gridspec_kw={"height_ratios": [1.15, 1]})
            for col, name in enumerate((left.value, right.value)):
                plot_run_panel(name, histories[name], epoch.value, axes[:, col], loss_range)
            fig.tight_layout()
            display(Image(palette_png(fig)))  # the rendered book saves this output: keep it light

    for w in (left, right, epoch):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([left, right]), epoch, out])


def guidance_explorer(model, process, n: int = 16, seed: int = 0, steps: int = 20, max_weight: float = 6.0,
                      sampler: str = "ddim"):
    """Pick a digit and a classifier-free guidance weight w and see ``n`` samples of that digit, all
    from the same starting noise and seed (``sampler`` with ``steps`` steps: "ddim", or a name of
    :data:`lib.sampler_sweep.SAMPLERS` such as "ddpm-posterior"), so that only the label and w change them.
    :func:`lib.viz.guidance_switcher` is its counterpart in the static HTML book."""
    import ipywidgets as widgets

    from .guidance import guided_samples
    from .viz import show_grid

    digit = widgets.Dropdown(options=list(range(model.num_classes)), value=0, description="digit")
    weight = widgets.FloatSlider(value=1.0, min=0.0, max=max_weight, step=0.5, description="guidance w")
    out = widgets.Output()

    def redraw(change=None):
        images = guided_samples(model, process, [digit.value], [weight.value], n=n, seed=seed, step=sampler,
                                steps=steps, image_size=model.image_size)[digit.value, weight.value]
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(3, 3))
            show_grid(images, ax=ax, title=f"digit {digit.value}, w = {weight.value:g}")
            plt.show()

    for w in (digit, weight):
        w.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([digit, weight]), out])
