import re

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import torch

from lib import viz


def test_to_uint8_maps_model_range_and_keeps_uint8():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0]).view(1, 1, 2, 2)
    assert viz.to_uint8(x).tolist() == [[[0, 128], [255, 255]]]
    u = np.arange(8, dtype=np.uint8).reshape(2, 2, 2)
    assert np.array_equal(viz.to_uint8(u), u)
    with pytest.raises(ValueError, match="grey or RGB"):
        viz.to_uint8(torch.zeros(2, 2, 4, 4))


def test_rgb_images_are_drawn_in_colour_channels_last():
    """(N, 3, H, W) from a network and (N, H, W, 3) as a run stores its grids give the same uint8 image,
    and a tile of RGB images is (rows, columns, 3) with each image in its place."""
    x = torch.full((3, 3, 2, 2), -1.0)
    x[:, 0] = 1.0  # pure red in the model range
    x[1, 2] = 1.0  # the second image magenta
    u = viz.to_uint8(x)
    assert u.shape == (3, 2, 2, 3) and u[0, 0, 0].tolist() == [255, 0, 0] and u[1, 1, 1].tolist() == [255, 0, 255]
    assert np.array_equal(viz.to_uint8(u), u) and np.array_equal(viz.to_uint8(torch.from_numpy(u)), u)
    t = viz.tile(u, nrow=3, pad=1)
    assert t.shape == (1 + 3, 1 + 3 * 3, 3)
    assert t[1, 4].tolist() == [255, 0, 255] and t[0, 0].tolist() == [128, 128, 128]
    ax = viz.show_grid(u)
    assert ax.images[0].get_array().shape[-1] == 3
    viz.plt.close("all")


def test_tile_layout():
    imgs = np.full((5, 3, 3), 255, np.uint8)
    t = viz.tile(imgs, nrow=2, pad=1)
    assert t.shape == (3 * 4 + 1, 2 * 4 + 1)
    assert (t == 255).sum() == 5 * 9


def test_animation_player_has_frames():
    frames = [torch.full((2, 1, 4, 4), v) for v in (-1.0, 0.0, 1.0)]
    html = viz.jshtml(viz.animate(frames, ["a", "b", "c"])).data
    assert "<img" in html and html.count("data:image/png;base64") >= 3 or "frames[2]" in html
    with pytest.raises(ValueError, match="3 frames but 2 titles"):
        viz.animate(frames, ["a", "b"])


def test_moving_average():
    assert viz.moving_average([1, 2, 3, 4], 2).tolist() == [1.5, 2.5, 3.5]


def test_sliders_redraw_what_their_value_says(monkeypatch):
    """Each slider is an ipywidgets VBox (slider, output); moving the slider redraws the images of the
    new step: the grid drawn is z_t (or D(x0, t)) at the slider's value."""
    import matplotlib
    import torch

    matplotlib.use("Agg")
    from lib import diffusion, widgets
    from lib.degradations import Average
    from lib.schedules import linear

    drawn = []
    monkeypatch.setattr(widgets, "show_grid", lambda images, **kw: drawn.append((images, kw["title"])))
    x0 = torch.rand(2, 1, 28, 28) * 2 - 1
    schedule, process = linear(T=50), Average(T=7, group=4)
    box = widgets.forward_slider(schedule, x0, torch.Generator().manual_seed(0), step=5)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    box.children[0].value = 25
    assert drawn[-1][1].startswith("t = 25") and torch.allclose(drawn[-1][0], diffusion.q_sample(schedule, x0, torch.tensor(25), eps))
    box = widgets.degradation_slider(process, x0)
    box.children[0].value = 3
    assert drawn[-1][1].endswith("t = 3") and torch.equal(drawn[-1][0], process.degrade_to(x0, 3))


def _fake_history(seed: int, grid_epochs=(1, 5, 10), ema: bool = False) -> dict:
    g = torch.Generator().manual_seed(seed)
    epochs = list(range(1, 11))
    h = {"epoch": epochs, "val_loss": (0.1 + torch.rand(10, generator=g) * 0.01).tolist(),
         "grid_epochs": list(grid_epochs),
         "grids": [torch.randint(0, 256, (4, 28, 28), generator=g, dtype=torch.uint8) for _ in grid_epochs]}
    if ema:
        h["val_loss_ema"] = [v * 0.98 for v in h["val_loss"]]
    return h


def test_matched_epochs_and_clear_errors():
    runs = {"a": _fake_history(0, (1, 5, 10)), "b": _fake_history(1, (1, 10, 20))}
    assert viz.matched_epochs(runs) == [1, 10]
    with pytest.raises(ValueError, match="share no epoch"):
        viz.matched_epochs({"a": _fake_history(0, (1,)), "b": _fake_history(1, (5,))})
    with pytest.raises(ValueError, match=r"\['c'\] recorded no sample grids"):
        viz.matched_epochs({"a": _fake_history(0), "c": {"grid_epochs": []}})
    with pytest.raises(ValueError, match="no sample grid at epoch 7"):
        viz.plot_run_panel("a", runs["a"], 7)


def test_run_switcher_draws_every_panel_once_and_names_its_choices():

    matplotlib.use("Agg")
    runs = {"a": _fake_history(0, ema=True), "b": _fake_history(1), "c": _fake_history(2)}
    html = viz.run_switcher(runs, second="c").data
    # a grid per run and epoch (3 x 3), and one loss curve per run
    assert len(set(re.findall(r'"(data:image/png;base64,[^"]+)"', html))) == 3 * 3 + 3
    selected = re.findall(r'<option value="([^"]+)" selected>', html)
    assert selected == ["10", "a", "c"]  # last matched epoch, then the left and right runs
    with pytest.raises(ValueError, match="unknown run 'z'"):
        viz.run_switcher(runs, first="z")
    with pytest.raises(ValueError, match=r"no sample grid for \(run, epoch\)"):
        viz.run_switcher(runs, epochs=[2])


def test_grid_data_uri_at_16_grey_levels_is_within_8_of_255_and_smaller():
    import base64
    import io

    from PIL import Image

    images = torch.Generator().manual_seed(0)
    x = (torch.rand(16, 1, 28, 28, generator=images) * 255).to(torch.uint8).numpy()
    x[:, :, :10] = 0  # some background, as in a digit
    grid = viz.tile(x)
    decoded = {}
    for levels in (256, 16):
        uri = viz._grid_data_uri(x, grey_levels=levels)
        png = base64.b64decode(uri.split(",", 1)[1])
        decoded[levels] = (np.asarray(Image.open(io.BytesIO(png)).convert("L")).astype(int), len(png))
    assert np.array_equal(decoded[256][0], grid)  # lossless at 256
    error = np.abs(decoded[16][0] - grid.astype(int))
    assert error.max() == 8 and np.all(decoded[16][0] % 17 == 0)  # nearest of 0, 17, ..., 255
    assert decoded[16][1] < 0.7 * decoded[256][1]
    with pytest.raises(ValueError, match="grey_levels must be 256 or 16"):
        viz._grid_data_uri(x, grey_levels=8)


def test_menu_switcher_refuses_a_missing_image_or_menu():
    menus = {"digit": ("digit", [0, 1], 0), "w": ("guidance", [1.0, 2.0], 1.0)}
    images = {f"{d}|{w}": f"data:image/png;base64,{d}{w}" for d in (0, 1) for w in (1.0, 2.0)}
    html = viz.menu_switcher(menus, [(None, [("samples", ("digit", "w"), 100)])], images, top=("digit", "w"))
    # each image is in the page once, in the script's table; the script shows the menus' choices (the
    # browser test below checks which), so no <img> carries a copy
    assert all(html.count(uri) == 1 for uri in images.values()) and not re.search(r"<img[^>]* src=", html)
    with pytest.raises(ValueError, match=r"no image for \{'digit': 1, 'w': 2.0\}"):
        viz.menu_switcher(menus, [(None, [("samples", ("digit", "w"), None)])],
                          {k: v for k, v in images.items() if k != "1|2.0"})
    with pytest.raises(ValueError, match="names no menu"):
        viz.menu_switcher(menus, [(None, [("samples", ("label",), None)])], images)
    with pytest.raises(ValueError, match="is not one of its options"):
        viz.menu_switcher({"digit": ("digit", [0, 1], 7)}, [], images)


def test_run_switcher_swaps_panels_in_a_browser():
    """The static counterpart works with no kernel: choosing a run or an epoch in a menu shows that
    panel (headless Chromium, as the rendered-book test)."""
    import shutil

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not __import__("pathlib").Path(chromium).exists():
        pytest.skip("needs Chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    matplotlib.use("Agg")
    runs = {"a": _fake_history(0), "b": _fake_history(1)}
    html = viz.run_switcher(runs).data
    uid = re.search(r'id="(rs[0-9a-f]+)"', html).group(1)
    images = dict(re.findall(r'"([ab]\|\d+)": "(data:image/png;base64,[^"]+)"', html))
    assert len(images) == 6
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"], headless=True)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_content(f"<html><body>{html}</body></html>")
        src = lambda side: page.get_attribute(f"#{uid}-{side}-img", "src")  # noqa: E731
        assert (src("left"), src("right")) == (images["a|10"], images["b|10"])
        page.select_option(f"#{uid}-epoch", "5")
        assert (src("left"), src("right")) == (images["a|5"], images["b|5"])
        assert src("left-curve") != src("right-curve")
        page.select_option(f"#{uid}-left", "b")
        assert src("left") == images["b|5"] and src("right") == images["b|5"]
        assert src("left-curve") == src("right-curve")
        browser.close()
    assert not errors


def test_run_comparison_widget_draws_the_chosen_runs(monkeypatch):
    matplotlib.use("Agg")
    from lib import widgets

    drawn = []
    monkeypatch.setattr(viz, "plot_run_panel", lambda name, history, epoch, axes, loss_range: drawn.append((name, epoch)))
    runs = {"a": _fake_history(0), "b": _fake_history(1), "c": _fake_history(2)}
    box = widgets.run_comparison(runs)
    assert drawn[-2:] == [("a", 10), ("b", 10)]
    menus, epoch = box.children[0].children, box.children[1]
    menus[1].value = "c"
    assert drawn[-2:] == [("a", 10), ("c", 10)]
    epoch.value = 5
    assert drawn[-2:] == [("a", 5), ("c", 5)]


def test_noise_level_and_score_curve_plots_draw_what_they_are_given():
    import matplotlib.pyplot as plt
    import pytest
    import torch

    curves = {"a": {"log_snr": torch.tensor([3.0, 0.0, -3.0]), "mse": torch.tensor([0.1, 0.05, 0.01])}}
    ax = viz.plot_noise_level_losses(curves)
    assert ax.xaxis_inverted() and len(ax.lines) == 1
    assert list(ax.lines[0].get_ydata()) == pytest.approx([0.1, 0.05, 0.01])
    rows = [{"epoch": 5, "fid": 30.0, "fid_sd": 0.0}, {"epoch": 30, "fid": 10.0, "fid_sd": 1.0}]
    ax = viz.plot_score_curves({"a": rows}, "fid", floor=[{"fid": 0.5}, {"fid": 0.7}])
    assert ax.get_yscale() == "log" and any(line.get_ydata()[0] == pytest.approx(0.6) for line in ax.lines)
    with pytest.raises(ValueError, match="no score 'kid'"):
        viz.plot_score_curves({"a": rows}, "kid")
    with pytest.raises(ValueError, match="at least one"):
        viz.plot_noise_level_losses({})
    plt.close("all")


def test_loss_comparison_overlays_each_run_scaled_and_smoothed_over_one_epoch():
    import matplotlib.pyplot as plt
    import pytest

    # two epochs of four iterations: the one-epoch moving mean of 1..8 is 2.5, 3.5, ..., 6.5
    h = {"iter_loss": [1, 2, 3, 4, 5, 6, 7, 8], "epoch": [1, 2], "train_loss": [2.5, 6.5], "val_loss": [3.0, 5.0]}
    left, right = viz.plot_loss_comparison({"a": h, "b": h}, scale={"b": 2})
    assert len(left.lines) == 2 and len(right.lines) == 4
    assert list(left.lines[0].get_ydata()) == pytest.approx([2.5, 3.5, 4.5, 5.5, 6.5])
    assert list(left.lines[1].get_ydata()) == pytest.approx([5, 7, 9, 11, 13])  # scaled by 2
    assert list(right.lines[3].get_ydata()) == pytest.approx([6, 10]) and "(x 2)" in right.lines[3].get_label()
    with pytest.raises(ValueError, match="not among"):
        viz.plot_loss_comparison({"a": h}, scale={"c": 2})
    with pytest.raises(ValueError, match="no \\['iter_loss'\\]"):
        viz.plot_loss_comparison({"a": {**h, "iter_loss": []}})
    # a loss in other units on its own right-hand axis: the main axis keeps only the others' lines
    left, right = viz.plot_loss_comparison({"a": h, "b": h}, own_axis=["b"])
    assert len(left.lines) == 1 and len(right.lines) == 2
    twin = [ax for ax in left.figure.axes if ax not in (left, right) and ax.bbox.bounds == left.bbox.bounds][0]
    assert len(twin.lines) == 1 and twin.get_ylabel() == "loss of b"
    assert [t.get_text() for t in left.get_legend().get_texts()] == ["a", "b, right axis"]
    with pytest.raises(ValueError, match="at least one run on the main axis"):
        viz.plot_loss_comparison({"a": h}, own_axis=["a"])
    plt.close("all")


def test_runs_at_epochs_draws_each_run_in_a_column_and_refuses_a_missing_grid():
    import matplotlib.pyplot as plt
    import pytest
    import torch

    grid = lambda v: torch.full((4, 1, 2, 2), v, dtype=torch.uint8)  # noqa: E731
    h = {"a": {"grid_epochs": [1, 2], "grids": [grid(10), grid(20)]},
         "b": {"grid_epochs": [2], "grids": [grid(30)]}}
    fig = viz.plot_runs_at_epochs(h, [2])
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["a, epoch 2", "b, epoch 2"]
    with pytest.raises(ValueError, match=r"\('b', 1\)"):
        viz.plot_runs_at_epochs(h, [1, 2])
    plt.close("all")


def test_palette_png_is_a_small_palette_image_of_the_figure():
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    def figure():
        fig, axes = plt.subplots(1, 2, figsize=(4, 2), dpi=50)
        axes[0].imshow(np.random.default_rng(0).integers(0, 256, (28, 28)), cmap="gray")
        axes[1].plot(np.arange(30) ** 0.5)
        return fig

    full = io.BytesIO()
    fig = figure()
    fig.savefig(full, format="png", bbox_inches="tight")
    plt.close(fig)
    drawn = figure()
    png = viz.palette_png(drawn, colors=16)
    assert drawn.number not in plt.get_fignums()  # closed
    image = Image.open(io.BytesIO(png))
    assert image.mode == "P" and len(image.getcolors()) <= 16
    assert image.size == Image.open(full).size  # the figure's own size and dpi
    assert len(png) < 0.6 * len(full.getvalue())


def test_plot_class_shares_draws_each_runs_shares():
    ax = viz.plot_class_shares({"a": [1] * 10, "b": [0] * 9 + [5]})
    heights = [p.get_height() for p in ax.patches]
    assert heights[:10] == pytest.approx([0.1] * 10) and heights[10:] == pytest.approx([0] * 9 + [1.0])
    with pytest.raises(ValueError, match="10 non-negative class counts"):
        viz.plot_class_shares({"a": [1, 2, 3]})


def test_plot_rows_draws_one_titled_strip_per_row_of_the_first_n_images():
    rows = {"uint8": torch.full((10, 28, 28), 255, dtype=torch.uint8), "model range": -torch.ones(9, 1, 28, 28)}
    fig = viz.plot_rows(rows, n=8)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["uint8", "model range"]
    strip = axes[0].images[0].get_array()
    assert strip.shape[:2] == (28 + 4, 8 * 30 + 2)  # one row of eight 28-pixel images with 2-pixel gaps
    assert strip[2:30, 2:30].min() == 255 and axes[1].images[0].get_array()[2:30, 2:30].max() == 0
    viz.plt.close("all")


def test_plot_rows_says_which_row_is_too_short():
    with pytest.raises(ValueError, match=r"fewer than n = 8.*'few': 3"):
        viz.plot_rows({"few": torch.zeros(3, 28, 28, dtype=torch.uint8)})
    with pytest.raises(ValueError, match="at least one row"):
        viz.plot_rows({})


def test_plot_score_curves_keeps_each_runs_colour_across_panels_with_colour_order():
    rows = [{"epoch": 1, "fid": 10.0, "fid_sd": 0.0}, {"epoch": 2, "fid": 8.0, "fid_sd": 1.0}]
    runs = {name: rows for name in "abcdefghijkl"}  # 12 runs: more than the colour cycle's 10
    full = viz.plot_score_curves(runs)
    subset = viz.plot_score_curves({k: runs[k] for k in "bdl"}, colour_order=list(runs))
    colour = {c.get_label(): c.lines[0].get_color() for c in full.containers}
    assert {c.get_label(): c.lines[0].get_color() for c in subset.containers} == {k: colour[k] for k in "bdl"}
    assert len(set(colour.values())) == 12
    few = viz.plot_score_curves({k: runs[k] for k in "ab"}, colour_order=["x", "b", "a"])
    cycle = viz.plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.lines[0].get_color() for c in few.containers] == [cycle[2], cycle[1]]
    with pytest.raises(ValueError, match=r"\['a'\] are not in colour_order"):
        viz.plot_score_curves({"a": rows}, colour_order=["b"])
    viz.plt.close("all")
