"""What a configuration changes, which runs are trained, the loss by noise level and the score summaries."""
import pytest

from lib.compare import config_changes, run_status
from lib.configs import CONFIGS, get_config
from lib.training import train


def test_config_changes_name_exactly_the_factors_of_each_comparison_run():
    assert config_changes(CONFIGS["T100"]) == {"T": (1000, 100), "precision": ("auto", "fp32")}
    assert set(config_changes(CONFIGS["harder"])) == {"T", "lr", "activation", "precision"}
    assert config_changes(CONFIGS["ema"]) == {"ema_decay": (None, 0.999), "precision": ("auto", "fp32")}
    assert config_changes(CONFIGS["default"]) == {}
    assert config_changes(CONFIGS["seed1"]) == {"ema_decay": (None, 0.999), "seed": (0, 1), "precision": ("auto", "fp32")}
    base = CONFIGS["ema"]
    assert set(config_changes(CONFIGS["wide"], base)) == {"hidden", "ema_decay"}


def test_run_status_reads_trained_epochs_and_reports_missing_and_broken_runs(fake_mnist, tmp_path):
    import dataclasses

    cfg = dataclasses.replace(get_config("default", T=10, epochs=1, batch_size=64, n_grid=2, precision="fp32"),
                              name="tiny")
    train(cfg, tmp_path / "tiny", data_root=fake_mnist, progress=False, log=lambda m: None)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "checkpoint.pt").write_bytes(b"not a checkpoint")
    status = run_status(["tiny", "ema", "broken"], tmp_path)
    assert status["tiny"]["trained"] == 1 and status["tiny"]["planned"] == 1
    assert status["ema"] == {"trained": 0, "planned": 30, "path": tmp_path / "ema" / "checkpoint.pt", "error": None,
                             "devices": []}
    assert [d["from_epoch"] for d in status["tiny"]["devices"]] == [0]
    assert status["tiny"]["devices"][0]["device"].startswith("cpu: ")
    assert status["broken"]["trained"] == 0 and status["broken"]["error"]


def test_loss_by_noise_level_of_a_zero_model_is_one_in_every_range():
    import torch

    from lib.compare import loss_by_noise_level
    from lib.diffusion import GaussianDiffusion, log_snr
    from lib.schedules import linear

    class Zero(torch.nn.Module):
        def forward(self, x, t):
            return torch.zeros_like(x)

    process = GaussianDiffusion(linear(T=100))
    x0 = torch.rand(64, 1, 28, 28) * 2 - 1
    out = loss_by_noise_level(Zero(), process, x0, bins=4, seed=0)
    # predicting 0 for eps ~ N(0, I): the squared error is E[eps^2] = 1, here over 64 x 784 draws per range
    assert torch.allclose(out["mse"], torch.ones(4, dtype=torch.float64), atol=0.02)
    assert out["edges"].tolist() == [0, 25, 50, 75, 100]
    snr = log_snr(process.schedule)
    assert out["log_snr"][0].item() == pytest.approx(snr[:25].mean().item())  # steps 1..25
    assert torch.all(out["log_snr"][1:] < out["log_snr"][:-1])
    with pytest.raises(ValueError, match="Gaussian diffusion"):
        loss_by_noise_level(Zero(), object(), x0)


def test_prediction_means_of_networks_that_know_the_answer():
    import torch

    from lib.compare import loss_by_noise_level, prediction_means_by_noise_level
    from lib.diffusion import GaussianDiffusion
    from lib.schedules import linear

    process = GaussianDiffusion(linear(T=100))
    s = process.schedule

    class ImpliesX0(torch.nn.Module):
        """Predicts the noise that makes x0_hat = ``value`` (a constant, or the truth where it is one)."""
        def __init__(self, value):
            super().__init__()
            self.value = value

        def forward(self, x, t):
            step = (t * process.T).round().long()
            a, b = s.sqrt_alpha_bar[step].view(-1, 1, 1, 1), s.sqrt_one_minus_alpha_bar[step].view(-1, 1, 1, 1)
            return (x - a * self.value) / b

    constant = torch.full((64, 1, 28, 28), 0.5)  # every digit the same: its noise is known exactly from z_t
    out = prediction_means_by_noise_level(ImpliesX0(0.5), process, constant, bins=4, seed=0)
    assert torch.allclose(out["eps_bias"], torch.zeros(4, dtype=torch.float64), atol=1e-4)
    assert torch.allclose(out["x0_hat"], torch.full((4,), 0.5, dtype=torch.float64), atol=1e-4)
    assert out["x0"].tolist() == [0.5] * 4 and out["ink"].tolist() == out["ink_hat"].tolist() == [1.0] * 4
    assert torch.equal(out["log_snr"], loss_by_noise_level(ImpliesX0(0.5), process, constant, bins=4)["log_snr"])
    assert out["mse_minus_2smooth"].tolist() == [0.0] * 4

    class OffBy(torch.nn.Module):
        """The exact noise of the constant digits plus ``r`` on every pixel."""
        def __init__(self, r):
            super().__init__()
            self.exact, self.r = ImpliesX0(0.5), r

        def forward(self, x, t):
            return self.exact(x, t) + self.r

    off = prediction_means_by_noise_level(OffBy(1.5), process, constant, bins=4, seed=0)
    # r^2 - 2 SmoothL1(r) = 2.25 - 2 (1.5 - 0.5) = 0.25 = (|r| - 1)^2; below 1 the two agree exactly
    assert off["mse_minus_2smooth"].tolist() == pytest.approx([0.25] * 4, abs=1e-4)
    assert off["eps_bias"].tolist() == pytest.approx([1.5] * 4, abs=1e-4) and off["beyond_1"].tolist() == [1.0] * 4
    sq, sm = torch.tensor(0.8) ** 2, torch.nn.functional.smooth_l1_loss(torch.tensor(0.8), torch.tensor(0.0))
    assert float(sq - 2 * sm) == pytest.approx(0.0, abs=1e-7)
    assert prediction_means_by_noise_level(OffBy(0.8), process, constant, bins=4)["mse_minus_2smooth"].tolist() == [0.0] * 4

    # digits that are all background (80%) or all ink (20%): the mean pixel is -0.6, the median -1
    two = torch.cat([torch.full((80, 1, 4, 4), -1.0), torch.ones(20, 1, 4, 4)])
    mean, median = (prediction_means_by_noise_level(ImpliesX0(v), process, two, bins=4) for v in (-0.6, -1.0))
    assert torch.allclose(mean["x0_hat"], mean["x0"], atol=1e-4) and mean["x0"][0] == pytest.approx(-0.6)
    assert torch.allclose(median["x0_hat"], torch.full((4,), -1.0, dtype=torch.float64), atol=1e-4)
    assert median["ink_hat"].tolist() == [0.0] * 4 and median["ink"].tolist() == [0.2] * 4
    assert (median["eps_bias"] > 0).all()  # predicting background where there is ink: too much noise
    # its noise is off by 2 sqrt(abar / (1 - abar)) on the ink pixels, at least 1.48 at this schedule's
    # lowest log-SNR (-0.6), and exactly right on the background ones
    assert median["beyond_1"].tolist() == pytest.approx([0.2] * 4)
    assert out["beyond_1"].tolist() == [0.0] * 4


def test_score_summary_means_spreads_and_class_counts():
    from lib.compare import score_summary

    def entry(epoch, s, fid, weights="raw"):
        return {"epoch": epoch, "weights": weights, "set": s, "seed": s, "n": 10, "fid": fid, "kid": 1.0,
                "is": 2.0, "precision": 0.5, "recall": 0.25, "class_counts": [s, 10 - s]}

    record = {"entries": [entry(30, 1, 20.0), entry(5, 0, 50.0), entry(30, 0, 10.0), entry(30, 0, 99.0, "ema")]}
    rows = score_summary(record, "raw")
    assert [r["epoch"] for r in rows] == [5, 30]
    assert rows[0]["sets"] == 1 and rows[0]["fid"] == 50.0 and rows[0]["fid_sd"] == 0.0
    assert rows[1]["sets"] == 2 and rows[1]["n"] == 20 and rows[1]["fid"] == 15.0
    assert rows[1]["fid_sd"] == pytest.approx(50 ** 0.5)  # sample standard deviation of 10 and 20
    assert rows[1]["class_counts"] == [1, 19] and rows[1]["kid_sd"] == 0.0
    assert score_summary(record, "ema")[0]["fid"] == 99.0 and len(score_summary(record)) == 2
    with pytest.raises(ValueError, match="weights"):
        score_summary(record, "best")
    only_1 = score_summary(record, "raw", sets=[1])  # set 1 exists at epoch 30 only
    assert [(r["epoch"], r["sets"], r["fid"]) for r in only_1] == [(30, 1, 20.0)]
    assert score_summary(record, "raw", sets=range(2))[1]["fid"] == 15.0
    with pytest.raises(ValueError, match="set numbers"):
        score_summary(record, "raw", sets=[])


def test_real_floor_scores_disjoint_sets_and_checks_its_size(fake_mnist):
    from lib.compare import real_floor
    from lib.data import load_mnist

    n_val = len(load_mnist("val", root=fake_mnist).images)
    floors = real_floor(8, sets=2, data_root=fake_mnist)
    assert len(floors) == 2 and all(f["n"] == 8 for f in floors)
    assert floors[0]["fid"] != floors[1]["fid"]  # different digits
    # set i is digits i*n..(i+1)*n with reference seed first_seed + i (lib.quality's floor is set 0)
    from lib.metrics import score
    from lib.viz import to_uint8

    digits = load_mnist("val", root=fake_mnist).images
    again = score(to_uint8(digits[8:16]), data_root=fake_mnist, seed=1)
    assert floors[1]["fid"] == pytest.approx(again["fid"]) and floors[1]["precision"] == again["precision"]
    shifted = real_floor(8, sets=1, data_root=fake_mnist, first_seed=3)[0]
    expected = score(to_uint8(digits[:8]), data_root=fake_mnist, seed=3)
    assert shifted["recall"] == expected["recall"] and shifted["fid"] == pytest.approx(floors[0]["fid"])
    with pytest.raises(ValueError, match="validation digits"):
        real_floor(n_val, sets=2, data_root=fake_mnist)


def test_time_by_device_splits_epoch_seconds_at_each_stretch():
    from lib.compare import time_by_device

    h = {"epoch": [1, 2, 3, 4, 5], "epoch_seconds": [10.0, 10.0, 600.0, 600.0, 12.0],
         "devices": [{"device": "cuda: X", "from_epoch": 0}, {"device": "cpu: Y", "from_epoch": 2},
                     {"device": "cuda: X", "from_epoch": 4}]}
    assert time_by_device(h) == [{"device": "cuda: X", "first_epoch": 1, "epochs": 2, "seconds": 20.0},
                                 {"device": "cpu: Y", "first_epoch": 3, "epochs": 2, "seconds": 1200.0},
                                 {"device": "cuda: X", "first_epoch": 5, "epochs": 1, "seconds": 12.0}]
    old = {"epoch": [1, 2], "epoch_seconds": [5.0, 6.0]}
    assert time_by_device(old) == [{"device": "unrecorded", "first_epoch": 1, "epochs": 2, "seconds": 11.0}]


def test_t_quantile_matches_tables():
    from lib.compare import t_quantile

    # two-sided 95% and one-sided 95% critical values of Student's t (any statistics table)
    table = {1: (12.7062, 6.3138), 2: (4.3027, 2.9200), 3: (3.1824, 2.3534), 6: (2.4469, 1.9432),
             30: (2.0423, 1.6973), float("inf"): (1.9600, 1.6449)}
    for df, (q975, q95) in table.items():
        assert t_quantile(0.975, df) == pytest.approx(q975, abs=2e-4)
        assert t_quantile(0.95, df) == pytest.approx(q95, abs=2e-4)
    assert t_quantile(0.975, 2) < t_quantile(0.975, 1.5) < t_quantile(0.975, 1)  # fractional df in between
    with pytest.raises(ValueError, match="at least 1"):
        t_quantile(0.975, 0.5)
    with pytest.raises(ValueError, match="between 0.5 and 1"):
        t_quantile(0.2, 3)


def test_difference_against_the_standard_error_of_two_means():
    from lib.compare import difference

    a = {"epoch": 30, "sets": 4, "fid": 20.0, "fid_sd": 2.0}
    d = difference(a, {**a, "fid": 14.0})
    assert d["difference"] == 6.0 and d["se"] == pytest.approx(2 ** 0.5)  # sqrt(4/4 + 4/4)
    # Welch: (1 + 1)^2 / (1/3 + 1/3) = 6 degrees of freedom, t = 2.447
    assert d["df"] == pytest.approx(6.0) and d["critical"] == pytest.approx(2.4469, abs=2e-4)
    assert d["distinguishable"]  # 6 > 2.447 x 1.414 = 3.46
    assert not difference(a, {**a, "fid": 17.0})["distinguishable"]  # 3 < 3.46, although beyond 2 SE
    two = {"epoch": 30, "sets": 2, "fid": 20.0, "fid_sd": 1.0}
    d2 = difference(two, {**two, "fid": 10.0})  # se 1, df 2: needs 4.30
    assert d2["df"] == pytest.approx(2.0) and d2["distinguishable"] and not difference(two, {**two, "fid": 16.0})["distinguishable"]
    with pytest.raises(ValueError, match="at least two independent sets"):
        difference(a, {**a, "sets": 1})


def test_difference_columns_name_the_reference_and_blank_the_reference_row():
    from lib.compare import difference_columns

    ref = {"epoch": 30, "sets": 4, "fid": 14.0, "fid_sd": 2.0}
    row = {**ref, "fid": 20.0}
    cols = difference_columns(row, ref, "default")
    assert cols == {"FID - default": 6.0, "standard error": pytest.approx(2 ** 0.5),
                    "needed": pytest.approx(2.4469 * 2 ** 0.5, abs=1e-3), "distinguishable": "yes"}
    assert difference_columns(ref, ref, "default") == {"FID - default": None, "standard error": None, "needed": None,
                                                       "distinguishable": None}
    assert difference_columns(row, None, "linear")["FID - linear"] is None
    assert difference_columns({**row, "fid": 17.0}, ref, "default")["distinguishable"] == "no"


def test_predictions_by_timestep_leaves_gradients_on_in_the_caller():
    import torch

    from lib.diffusion import GaussianDiffusion
    from lib.processes import predictions_by_timestep
    from lib.schedules import linear

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 1, 3, padding=1)

        def forward(self, x, t):
            return self.conv(x)

    pairs = predictions_by_timestep(Net(), GaussianDiffusion(linear(T=10)), torch.zeros(4, 1, 8, 8), bins=2)
    *_, output = next(pairs)
    assert torch.is_grad_enabled() and not output.requires_grad  # the model ran without gradients, the caller has them
    pairs.close()
