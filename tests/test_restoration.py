"""Table 1's measurements: SSIM as the paper's code computes it (pytorch_msssim: the SSIM map over the
valid region only, checked against the interior of torchmetrics' map, which pads by reflection and
averages the whole map), pooled RMSE, and lib.restore -> lib.metrics end to end."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lib.cli import metrics as metrics_cli
from lib.cli import restore as restore_cli
from lib.configs import get_config
from lib.metrics import rmse, ssim
from lib.training import train


def images(n, size=28, seed=0):
    return torch.randint(0, 256, (n, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_ssim_matches_torchmetrics_gaussian_ssim():
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

    a = images(6)
    b = (a.float() * 0.7 + 40 + torch.randn(6, 28, 28, generator=torch.Generator().manual_seed(1)) * 20)
    b = b.clamp(0, 255).round().to(torch.uint8)
    ours = ssim(a, b)
    whole, full_map = tm_ssim(b[:, None].double() / 255, a[:, None].double() / 255, gaussian_kernel=True, sigma=1.5,
                              kernel_size=11, data_range=1.0, return_full_image=True)
    assert ours == pytest.approx(float(full_map[..., 5:-5, 5:-5].mean()), abs=1e-9)
    assert abs(ours - float(whole)) > 1e-4  # torchmetrics' own mean includes the reflected border: not Table 1's
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    assert 0.0 < ours < 0.9


def test_rmse_pools_every_pixel_before_the_square_root():
    black, white = torch.zeros(2, 28, 28, dtype=torch.uint8), torch.full((2, 28, 28), 255, dtype=torch.uint8)
    assert rmse(black, white) == pytest.approx(1.0)
    mixed = torch.stack([black[0], white[0]])  # one image wrong by 1, one right: sqrt(1/2), not (1 + 0) / 2
    assert rmse(black, mixed) == pytest.approx(0.5**0.5)
    with pytest.raises(ValueError, match="one shape"):
        rmse(black, white[:1])
    with pytest.raises(ValueError, match="smaller than the 11-pixel"):
        ssim(black[:, :8, :8], black[:, :8, :8])


@pytest.fixture
def cold_checkpoint(fake_mnist, tmp_path):
    cfg = get_config("default", process="blur", T=4, process_options={"kernel_size": 5, "std": 2.0,
                     "mixture_components": 2}, image_size=32, loss="l1", epochs=1, batch_size=32, n_grid=2,
                     sample_epochs=(1,), precision="fp32")
    train(cfg, tmp_path / "blur", data_root=fake_mnist, progress=False, log=lambda m: None)
    return tmp_path / "blur"


from conftest import run_cli as run


def test_restore_writes_the_documented_arrays_and_metrics_scores_them(cold_checkpoint, fake_mnist, tmp_path, capsys):
    out = tmp_path / "r.npz"
    code, printed, err = run(restore_cli, [str(cold_checkpoint), "--n", "5", "--out", str(out),
                                           "--data", str(fake_mnist)], capsys)
    assert code == 0, err
    with np.load(out) as f:
        arrays = {k: f[k] for k in ("original", "degraded", "direct", "alg1", "alg2")}
    assert all(v.shape == (5, 32, 32) and v.dtype == np.uint8 for v in arrays.values())
    from lib.data import load_mnist, to_uint8
    from lib.runs import load_trained

    test = load_mnist("test", root=fake_mnist, image_size=32).images[:5]
    assert np.array_equal(arrays["original"], to_uint8(test)[:, 0].numpy())
    process = load_trained(cold_checkpoint).process
    assert np.array_equal(arrays["degraded"], to_uint8(process.degrade_to(test, 4))[:, 0].numpy())
    code, printed, err = run(metrics_cli, [str(out)], capsys)
    assert code == 0, err
    report = json.loads(printed)
    assert report["n"] == 5 and set(report) == {"degraded", "direct", "alg1", "alg2", "n"}
    assert report["degraded"]["rmse"] == pytest.approx(rmse(arrays["original"], arrays["degraded"]), abs=1e-6)
    assert report["direct"]["ssim"] == pytest.approx(ssim(arrays["original"], arrays["direct"]), abs=1e-6)


def test_restore_refuses_a_ddpm_checkpoint_in_one_line(tmp_path, capsys):
    shipped = Path(__file__).resolve().parents[1] / "checkpoints" / "default"
    code, _, err = run(restore_cli, [str(shipped), "--n", "2", "--out", str(tmp_path / "x.npz")], capsys)
    assert code != 0 and "needs a cold degradation" in err and "Traceback" not in err


def test_sample_draws_cold_checkpoints_at_their_size_with_their_samplers(cold_checkpoint, tmp_path, capsys):
    from lib.cli import sample as sample_cli

    files = {}
    for noise in ("0", "0.002"):
        out = tmp_path / f"s{noise}.npz"
        code, _, err = run(sample_cli, [str(cold_checkpoint), "--n", "3", "--seed", "0", "--out", str(out),
                                        "--start-noise", noise], capsys)
        assert code == 0, err
        files[noise] = np.load(out)["images"]
    assert files["0"].shape == files["0.002"].shape == (3, 32, 32)
    code, _, err = run(sample_cli, [str(cold_checkpoint), "--n", "1", "--seed", "0", "--out", str(tmp_path / "x.npz"),
                                    "--sampler", "ddim"], capsys)
    assert code != 0 and "no sampler 'ddim'" in err and "alg1, alg2" in err


def test_fitted_linear_restoration_is_exact_when_nothing_is_lost_and_beats_the_pseudo_inverse_otherwise():
    from lib.degradations import Blur
    from lib.restoration import fit_linear_restoration, fourier_inverse

    g = torch.Generator().manual_seed(0)
    light = Blur(T=1, kernel_size=3, std=0.5, image_size=8, padding="circular")  # keeps every frequency
    train, test = torch.rand(400, 1, 8, 8, generator=g) * 2 - 1, torch.rand(20, 1, 8, 8, generator=g) * 2 - 1
    restore_lin = fit_linear_restoration(light, train, 1)
    assert torch.allclose(restore_lin(light.degrade_to(test, 1)), test, atol=1e-4)
    # heavy blur: the pseudo-inverse leaves lost frequencies at 0, the fit fills in their training mean
    heavy = Blur(T=20, kernel_size=5, std=3.0, image_size=8, padding="circular")
    shapes = torch.zeros(400, 1, 8, 8)
    shapes[:, :, 2:6, 2:6] = torch.rand(400, 1, 1, 1, generator=g)  # squares of random brightness
    x_t = heavy.degrade_to(shapes[:50], 20)
    fitted = fit_linear_restoration(heavy, shapes[50:], 20)(x_t)
    assert (fitted - shapes[:50]).pow(2).mean() < 0.5 * (fourier_inverse(heavy, x_t, 20) - shapes[:50]).pow(2).mean()
    with pytest.raises(ValueError, match="cannot fit"):
        fit_linear_restoration(light, train[:10], 1)


def _bars(rows_or_columns: str, n_per_class: int, size: int = 28, n_classes: int = 4):
    """Images of one bright line on a dark background; the class is the line's position (rows 4, 10, 16,
    22, or the same columns). Row averaging keeps a horizontal bar whole, column averaging flattens it."""
    images = -torch.ones(n_classes * n_per_class, 1, size, size)
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    for i, c in enumerate(labels.tolist()):
        line = 4 + 6 * c
        if rows_or_columns == "rows":
            images[i, 0, line, :] = 1.0
        else:
            images[i, 0, :, line] = 1.0
    return images + 0.01 * torch.randn(images.shape, generator=torch.Generator().manual_seed(0)), labels


def test_start_class_accuracy_is_one_when_the_start_keeps_the_class_and_chance_when_it_does_not():
    from lib.degradations import Average
    from lib.restoration import start_class_accuracy
    images, labels = _bars("rows", 40)
    test_images, test_labels = _bars("rows", 25)
    rows, columns = Average(T=7, axis="rows", group=4), Average(T=7, axis="columns", group=4)
    # horizontal bars: the row profile says which row holds the bar, exactly
    assert start_class_accuracy(rows, images, labels, test_images, test_labels) == 1.0
    # the column profile of every horizontal bar is the same flat line (plus noise): chance, 1 in 4
    assert abs(start_class_accuracy(columns, images, labels, test_images, test_labels) - 0.25) < 0.12


def test_start_class_accuracy_refuses_mismatched_labels():
    from lib.degradations import Average
    from lib.restoration import start_class_accuracy
    images, labels = _bars("rows", 5)
    with pytest.raises(ValueError, match="N labels"):
        start_class_accuracy(Average(T=7, group=4), images, labels[:-1], images, labels)
