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
