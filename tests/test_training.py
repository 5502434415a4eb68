import dataclasses

import pytest
import torch

from lib import training
from lib.training import CheckpointError, TrainConfig, get_config, load_trained, read_checkpoint, train

TINY = dict(T=40, batch_size=32, epochs=3, sample_epochs=(1,), n_grid=2, precision="fp32")


def tiny(**kw):
    return get_config("default", **{**TINY, **kw})


def quiet(msg):
    pass


def test_history_and_checkpoint_round_trip(fake_mnist, tmp_path):
    h = train(tiny(), tmp_path / "run", data_root=fake_mnist, progress=False, log=quiet)
    n_batches = -(-220 // 32)
    assert len(h["iter_loss"]) == 3 * n_batches
    assert h["epoch"] == [1, 2, 3] and len(h["train_loss"]) == len(h["val_loss"]) == 3
    assert h["grid_epochs"] == [1, 3] and h["grids"][0].shape == (2, 28, 28) and h["grids"][0].dtype == torch.uint8
    assert h["train_loss"][-1] < h["train_loss"][0]
    loaded = load_trained(tmp_path / "run" / "checkpoint.pt")
    assert loaded.epoch == 3 and loaded.config == tiny() and not loaded.model.training
    assert loaded.schedule.T == 40
    assert loaded.history["train_loss"] == h["train_loss"]
    assert not list((tmp_path / "run").glob("*.tmp"))  # atomic write leaves no temporary file


def test_resume_is_exact(fake_mnist, tmp_path):
    straight = train(tiny(), tmp_path / "a", data_root=fake_mnist, progress=False, log=quiet)
    train(tiny(), tmp_path / "b", data_root=fake_mnist, progress=False, log=quiet, stop_after_epoch=1)
    assert read_checkpoint(tmp_path / "b")["epoch"] == 1
    resumed = train(tiny(), tmp_path / "b", resume=True, data_root=fake_mnist, progress=False, log=quiet)
    assert resumed["iter_loss"] == straight["iter_loss"]
    assert resumed["val_loss"] == straight["val_loss"]
    a, b = read_checkpoint(tmp_path / "a"), read_checkpoint(tmp_path / "b")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    for x, y in zip(a["history"]["grids"], b["history"]["grids"]):
        assert torch.equal(x, y)


def test_resume_extends_a_finished_run(fake_mnist, tmp_path):
    train(tiny(epochs=1), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet)
    h = train(tiny(epochs=2), tmp_path / "r", resume=True, data_root=fake_mnist, progress=False, log=quiet)
    assert h["epoch"] == [1, 2]


def test_refuses_to_overwrite_and_to_resume_nothing(fake_mnist, tmp_path):
    train(tiny(epochs=1), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet)
    with pytest.raises(CheckpointError, match="already exists"):
        train(tiny(epochs=1), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(tiny(), tmp_path / "none", resume=True, data_root=fake_mnist, progress=False, log=quiet)
    with pytest.raises(CheckpointError, match="different configuration.*lr"):
        train(tiny(lr=1e-3), tmp_path / "r", resume=True, data_root=fake_mnist, progress=False, log=quiet)


def test_corrupt_and_foreign_checkpoints(fake_mnist, tmp_path):
    train(tiny(epochs=1), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet)
    good = (tmp_path / "r" / "checkpoint.pt").read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        read_checkpoint(bad)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointError, match="not a diffusion-book checkpoint"):
        read_checkpoint(other)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")


def test_bf16_path_trains(fake_mnist, tmp_path):
    h = train(tiny(epochs=1, precision="bf16"), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet)
    assert h["precision"] == "bf16" and all(torch.isfinite(torch.tensor(h["iter_loss"])))


def test_configs_are_valid_and_errors_clear():
    for name, cfg in training.CONFIGS.items():
        assert cfg.name == name
        cfg.make_model(), cfg.make_schedule()
    assert training.CONFIGS["wide"].hidden == (16, 32, 64, 32, 16)
    d = training.CONFIGS["default"]
    assert (d.lr, d.batch_size, d.T, d.schedule, d.hidden) == (2e-4, 128, 1000, "linear", (16, 32, 32, 16))
    assert TrainConfig.from_dict(d.to_dict()) == d
    with pytest.raises(ValueError, match="unknown configuration"):
        get_config("huge")
    with pytest.raises(ValueError, match="batch_size"):
        get_config("default", batch_size=0)
    with pytest.raises(ValueError, match="precision"):
        get_config("default", precision="fp16")
    with pytest.raises(ValueError, match="unknown schedule"):
        get_config("default", schedule="exp")
    with pytest.raises(ValueError, match="unknown loss"):
        dataclasses.replace(d, loss="huber")


def test_metrics_recorded_at_chosen_epochs(fake_mnist, tmp_path, monkeypatch):
    from lib import metrics
    from lib.classifier import MNISTClassifier, save_classifier

    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    torch.manual_seed(0)
    cls = save_classifier(MNISTClassifier().eval(), {}, tmp_path / "cls.pt")
    h = train(tiny(epochs=2, metric_epochs=(2,), metric_samples=8), tmp_path / "r", data_root=fake_mnist,
              progress=False, log=quiet, classifier_path=cls)
    assert h["metric_epochs"] == [2] and set(h["metrics"][0]) >= {"fid", "is", "kid", "precision", "recall"}
    assert h["metrics"][0]["n"] == 8


def test_metrics_need_a_classifier_before_training(fake_mnist, tmp_path):
    with pytest.raises(CheckpointError, match="no classifier"):
        train(tiny(metric_epochs=(1,)), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet,
              classifier_path=tmp_path / "missing.pt")
    assert not (tmp_path / "r").exists()


def test_resume_may_change_what_is_measured_but_not_how_it_trains(fake_mnist, tmp_path, monkeypatch):
    from lib import metrics
    from lib.classifier import MNISTClassifier, save_classifier

    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    cls = save_classifier(MNISTClassifier().eval(), {}, tmp_path / "cls.pt")
    straight = train(tiny(epochs=3), tmp_path / "a", data_root=fake_mnist, progress=False, log=quiet)
    train(tiny(epochs=1), tmp_path / "b", data_root=fake_mnist, progress=False, log=quiet)
    scored = train(tiny(epochs=3, metric_epochs=(2,), metric_samples=4), tmp_path / "b", resume=True,
                   data_root=fake_mnist, progress=False, log=quiet, classifier_path=cls)
    assert scored["metric_epochs"] == [2]
    assert scored["iter_loss"] == straight["iter_loss"]  # scoring at epoch 2 did not disturb epoch 3
    assert read_checkpoint(tmp_path / "b")["config"]["metric_epochs"] == (2,)
