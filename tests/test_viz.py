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
    with pytest.raises(ValueError, match="single-channel"):
        viz.to_uint8(torch.zeros(2, 3, 4, 4))


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
