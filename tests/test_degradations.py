"""Cold Diffusion's degradations checked against exact properties: circular blur is a convolution
whose Fourier transform multiplies the image's by the kernel's transform once per step; averaging
keeps every line's mean; the start distribution's summary round-trips; both algorithms restore a
perfect restoration's image exactly; and a cold run trains, checkpoints, loads and samples."""
import math

import pytest
import torch

from lib import configs
from lib.degradations import Average, Blur, Downsample, gaussian_kernel, line_order
from lib.mixture import GaussianMixture
from lib.runs import load_trained
from lib.sampling import sample
from lib.training import train

from conftest import Oracle


def digits(n=3, size=28, seed=0):
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_gaussian_kernel_is_the_normalised_outer_product_of_a_sampled_gaussian():
    k = gaussian_kernel(5, 1.5)
    g = torch.tensor([math.exp(-x * x / (2 * 1.5**2)) for x in range(-2, 3)])
    assert torch.allclose(k, torch.outer(g, g) / g.sum() ** 2, atol=1e-7)
    assert float(k.sum()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("size", [28, 32])
def test_iterated_circular_blur_multiplies_the_spectrum_by_the_kernels_transform_t_times(size):
    blur = Blur(T=20, kernel_size=11, std=7.0, image_size=size)
    x = digits(2, size).double()
    k = torch.zeros(size, size, dtype=torch.float64)  # the kernel embedded circularly, centred at (0, 0)
    for i in range(11):
        for j in range(11):
            k[(i - 5) % size, (j - 5) % size] = float(blur.kernels[0][i, j])
    k_hat = torch.fft.fft2(k)
    for t in (1, 5, 20):
        expected = torch.fft.ifft2(torch.fft.fft2(x) * k_hat**t).real
        assert torch.allclose(blur.degrade_to(x.float(), t).double(), expected, atol=1e-5)
        assert torch.allclose(blur.transfer_function(t), k_hat**t, atol=1e-12)


def test_the_transfer_function_of_incremental_and_individual_blurs_matches_the_blur():
    x = digits(2).double()
    for routine in ("iterative", "individual"):
        blur = Blur(T=4, kernel_size=5, std=0.6, schedule="incremental", routine=routine)
        for t in (0, 1, 4):
            expected = torch.fft.ifft2(torch.fft.fft2(x) * blur.transfer_function(t)).real
            assert torch.allclose(blur.degrade_to(x.float(), t).double(), expected, atol=1e-5), (routine, t)


def test_fourier_inverse_undoes_a_mild_blur_exactly_and_a_strong_one_only_where_frequencies_survive():
    from lib.restoration import fourier_inverse, frequencies_kept

    mild = Blur(T=2, kernel_size=3, std=0.5)
    x = digits(3)
    assert frequencies_kept(mild, 2) == 28 * 28
    assert torch.allclose(fourier_inverse(mild, mild.degrade_to(x, 2), 2), x, atol=1e-4)
    # the paper's blur leaves a handful of the 1,024 frequencies above float precision: the rest of the
    # digit cannot be read back linearly, and the inverse keeps only the mean and the coarsest waves
    paper = Blur(T=20, kernel_size=11, std=7.0, image_size=32)
    kept = frequencies_kept(paper, 20)
    assert 1 < kept < 20
    x32 = digits(3, 32)
    back = fourier_inverse(paper, paper.degrade_to(x32, 20), 20)
    assert torch.allclose(back.mean((2, 3)), x32.mean((2, 3)), atol=1e-4)
    with pytest.raises(ValueError, match="circular"):
        Blur(T=2, kernel_size=3, std=0.5, padding="reflect").transfer_function(1)
    with pytest.raises(ValueError, match="t must be"):
        mild.transfer_function(3)


def test_blur_keeps_the_mean_leaves_t0_alone_and_takes_one_step_per_image():
    blur = Blur(T=20, kernel_size=11, std=7.0)
    x = digits(4)
    assert torch.equal(blur.degrade_to(x, 0), x)
    assert torch.allclose(blur.degrade_to(x, 20).mean((2, 3)), x.mean((2, 3)), atol=1e-5)
    t = torch.tensor([0, 3, 20, 3])
    batched = blur.degrade_to(x, t)
    for i in range(4):
        assert torch.allclose(batched[i], blur.degrade_to(x[i:i + 1], int(t[i]))[0], atol=1e-6)
    # after 20 steps at std 7 a digit is nearly constant: the start distribution's premise
    assert float(blur.degrade_to(x, 20).std((2, 3)).max()) < 0.01


def test_the_individual_routine_with_a_constant_kernel_never_blurs_past_step_1():
    iterative = Blur(T=10, kernel_size=3, std=0.1 * 10, routine="iterative")
    individual = Blur(T=10, kernel_size=3, std=0.1 * 10, routine="individual")
    x = digits(1)
    assert torch.allclose(individual.degrade_to(x, 10), individual.degrade_to(x, 1))
    assert torch.allclose(iterative.degrade_to(x, 1), individual.degrade_to(x, 1))
    assert not torch.allclose(iterative.degrade_to(x, 10), individual.degrade_to(x, 10), atol=1e-2)
    incremental = Blur(T=3, kernel_size=5, std=0.5, schedule="incremental", routine="individual")
    assert [incremental.std_of(i) for i in (1, 2, 3)] == [0.5, 1.0, 1.5]


@pytest.mark.parametrize("kwargs,message", [
    ({"kernel_size": 4}, "odd positive"), ({"std": 0}, "positive number"), ({"padding": "same"}, "padding"),
    ({"routine": "once"}, "routine"), ({"schedule": "cosine"}, "schedule"), ({"start_noise": -1}, "start_noise"),
])
def test_blur_rejects_bad_parameters_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Blur(T=5, **kwargs)


def test_line_orders():
    assert line_order(28, "outside-in")[:6] == [0, 27, 1, 26, 2, 25]
    assert [i + 1 for i in line_order(28, "inside-out")[:6]] == [14, 15, 13, 16, 12, 17]
    for order in ("outside-in", "inside-out", "random"):
        assert sorted(line_order(28, order)) == list(range(28))
    assert line_order(28, "random", seed=1) == line_order(28, "random", seed=1) != line_order(28, "random", seed=2)


@pytest.mark.parametrize("axis", ["rows", "columns"])
@pytest.mark.parametrize("group", [1, 4])
def test_averaging_replaces_the_first_lines_by_their_means_and_keeps_every_lines_mean(axis, group):
    T = 28 // group
    avg = Average(T=T, axis=axis, order="outside-in", group=group)
    x = digits(2)
    line_means = x.mean(-1) if axis == "rows" else x.mean(-2)  # (B, 1, 28)
    for t in range(T + 1):
        d = avg.degrade_to(x, t)
        assert torch.allclose(d.mean(-1) if axis == "rows" else d.mean(-2), line_means, atol=1e-6)
        done = avg.lines[:t * group]
        for line in range(28):
            got = d[:, :, line, :] if axis == "rows" else d[:, :, :, line]
            want = x[:, :, line, :] if axis == "rows" else x[:, :, :, line]
            if line in done:
                assert torch.allclose(got, line_means[:, :, line, None].expand_as(got), atol=1e-6)
            else:
                assert torch.equal(got, want)
    x_T = avg.degrade_to(x, T)
    assert torch.allclose(avg.expand(avg.summary(x_T), x.shape), x_T, atol=1e-6)


def test_averaging_needs_the_matching_number_of_steps():
    with pytest.raises(ValueError, match="set T = 7"):
        Average(T=28, group=4)


def test_downsampling_goes_to_coarser_grids_and_round_trips_the_coarsest():
    down = Downsample(T=24)
    x = digits(2)
    assert torch.equal(down.degrade_to(x, 0), x)
    blocky = torch.rand(2, 1, 7, 7).repeat_interleave(4, 2).repeat_interleave(4, 3)  # constant on 4x4 blocks
    assert torch.allclose(down.degrade_to(blocky, 21), blocky, atol=1e-6)  # 28 - 21 = 7 pixels
    x_T = down.degrade_to(x, 24)
    assert down.summary(x_T).shape == (2, 16)
    assert torch.equal(down.expand(down.summary(x_T), x.shape), x_T)
    with pytest.raises(ValueError, match="below one pixel"):
        Downsample(T=28)


def test_gaussian_mixture_recovers_a_known_mixture():
    g = torch.Generator().manual_seed(0)
    n = 20000
    pick = torch.rand(n, generator=g) < 0.3
    x = torch.where(pick[:, None], torch.randn(n, 2, generator=g) * 0.5 + torch.tensor([-2.0, 1.0]),
                    torch.randn(n, 2, generator=g) @ torch.tensor([[1.0, 0.8], [0.0, 0.6]]) + torch.tensor([3.0, 0.0]))
    gm = GaussianMixture(2).fit(x, torch.Generator().manual_seed(1))
    first = int(gm.means[:, 0].argmin())
    assert float(gm.weights[first]) == pytest.approx(0.3, abs=0.01)
    assert torch.allclose(gm.means[first].float(), torch.tensor([-2.0, 1.0]), atol=0.03)
    # the second component's covariance is A^T A for the matrix A above
    A = torch.tensor([[1.0, 0.8], [0.0, 0.6]], dtype=torch.float64)
    assert torch.allclose(gm.covariances[1 - first], A.T @ A, atol=0.04)
    draws = gm.sample(n, torch.Generator().manual_seed(2))
    assert torch.allclose(draws.mean(0).float(), x.mean(0), atol=0.05)
    assert gm.log_likelihood(x) > GaussianMixture(1).fit(x, torch.Generator().manual_seed(1)).log_likelihood(x)
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianMixture(2).sample(1, g)


@pytest.mark.parametrize("process", [Blur(T=20), Average(T=28, order="random"), Downsample(T=24)])
def test_the_start_distribution_gives_fully_degraded_looking_images_and_noise_breaks_ties(process):
    x = digits(64)
    process.fit(x, torch.Generator().manual_seed(0))
    process.start_noise = 0.0
    start = process.prior((5, 1, 28, 28), torch.Generator().manual_seed(3))
    assert torch.allclose(process.expand(process.summary(start), start.shape), start, atol=1e-5)
    assert torch.equal(start, process.prior((5, 1, 28, 28), torch.Generator().manual_seed(3)))
    process.start_noise = 0.002
    noisy = process.prior((5, 1, 28, 28), torch.Generator().manual_seed(3))
    assert 0.001 < float((noisy - process.expand(process.summary(noisy), noisy.shape)).std()) < 0.003


@pytest.mark.parametrize("process", [Blur(T=20), Average(T=7, group=4, order="inside-out"), Downsample(T=10)])
def test_both_algorithms_restore_a_perfect_restorations_image(process):
    y = digits(1)
    start = process.degrade_to(y, process.T).expand(2, 1, 28, 28)
    for step in ("alg1", "alg2"):
        out = sample(Oracle(y), process, (2, 1, 28, 28), torch.Generator(), step=step, start=start, trajectory=True)
        assert torch.allclose(out.images, y.expand(2, 1, 28, 28), atol=1e-5)
        assert torch.allclose(out.trajectory[process.T - 3], process.degrade_to(y, 3).expand(2, 1, 28, 28), atol=1e-5)


def test_configurations_name_cold_processes_and_reject_unknown_options():
    cfg = configs.get_config("default", process="blur", T=20, process_options={"kernel_size": 11, "std": 7.0},
                             image_size=32, loss="l1")
    assert isinstance(cfg.make_process(), Blur) and cfg.make_process().image_size == 32
    assert cfg.make_network()(torch.zeros(2, 1, 32, 32), torch.zeros(2)).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match="no option.*'sigma'.*kernel_size"):
        configs.get_config("default", process="blur", T=20, process_options={"sigma": 2})
    with pytest.raises(ValueError, match="set T = 28"):
        configs.get_config("default", process="average", T=1000)
    with pytest.raises(ValueError, match="metric_epochs needs 28-pixel"):
        configs.get_config("default", image_size=32, metric_epochs=(1,))


def test_a_cold_run_trains_checkpoints_and_generates(fake_mnist, tmp_path):
    cfg = configs.get_config("default", process="average", T=7, process_options={"group": 4, "order": "outside-in",
                             "mixture_components": 2}, loss="l1", epochs=2, batch_size=32, n_grid=2,
                             sample_epochs=(2,), precision="fp32")
    h = train(cfg, tmp_path / "run", data_root=fake_mnist, progress=False, log=lambda m: None)
    assert h["train_loss"][-1] < h["train_loss"][0]
    loaded = load_trained(tmp_path / "run")
    assert isinstance(loaded.process, Average) and loaded.process.mixture.fitted
    from lib.data import load_mnist

    refit = cfg.make_process()  # the checkpoint holds the start distribution fitted on the training images
    refit.fit(load_mnist("train", root=fake_mnist).images, torch.Generator().manual_seed(cfg.seed + 4))
    assert torch.allclose(loaded.process.mixture.means, refit.mixture.means)
    a = sample(loaded.model, loaded.process, (3, 1, 28, 28), torch.Generator().manual_seed(0)).images
    assert a.shape == (3, 1, 28, 28) and torch.isfinite(a).all()
