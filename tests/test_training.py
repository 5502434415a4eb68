import dataclasses

import pytest
import torch

from lib import configs
from lib.checkpoints import CheckpointError, read_checkpoint, save_checkpoint, snapshot_path
from lib.configs import TrainConfig, get_config
from lib.precision import describe_device
from lib.runs import load_trained
from lib.training import train

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


def test_the_history_names_where_each_stretch_of_a_run_was_trained(fake_mnist, tmp_path):
    run = tmp_path / "r"
    train(tiny(), run, data_root=fake_mnist, progress=False, log=quiet, stop_after_epoch=1)
    here = {"device": describe_device("cpu"), "torch": str(torch.__version__)}
    assert here["device"].startswith("cpu: ")
    assert read_checkpoint(run)["history"]["devices"] == [{**here, "from_epoch": 0}]
    # a run begun on another machine (chapter 3's runs began on a GPU) gains an entry where it resumes here
    state = read_checkpoint(run)
    elsewhere = {"device": "cuda: NVIDIA H100 80GB HBM3", "torch": "2.11.0+cu130", "from_epoch": 0}
    state["history"]["devices"] = [elsewhere]
    save_checkpoint(run / "checkpoint.pt", state)
    train(tiny(), run, resume=True, data_root=fake_mnist, progress=False, log=quiet, stop_after_epoch=2)
    assert read_checkpoint(run)["history"]["devices"] == [elsewhere, {**here, "from_epoch": 1}]
    # resuming again on the same machine with the same torch adds nothing
    h = train(tiny(), run, resume=True, data_root=fake_mnist, progress=False, log=quiet)
    assert h["epoch"] == [1, 2, 3] and h["devices"] == [elsewhere, {**here, "from_epoch": 1}]


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
    for name, cfg in configs.CONFIGS.items():
        assert cfg.name == name
        cfg.make_network(), cfg.make_process()
    assert configs.CONFIGS["wide"].hidden == (16, 32, 64, 32, 16)
    d = configs.CONFIGS["default"]
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


def test_ema_is_kept_resumed_exactly_and_used_for_sampling(fake_mnist, tmp_path):
    cfg = tiny(ema_decay=0.9)
    straight = train(cfg, tmp_path / "a", data_root=fake_mnist, progress=False, log=quiet)
    train(cfg, tmp_path / "b", data_root=fake_mnist, progress=False, log=quiet, stop_after_epoch=1)
    resumed = train(cfg, tmp_path / "b", resume=True, data_root=fake_mnist, progress=False, log=quiet)
    assert resumed["val_loss_ema"] == straight["val_loss_ema"] and len(straight["val_loss_ema"]) == 3
    a, b = read_checkpoint(tmp_path / "a"), read_checkpoint(tmp_path / "b")
    assert all(torch.equal(a["ema"][k], b["ema"][k]) for k in a["ema"])
    assert not all(torch.equal(a["ema"][k], a["model"][k]) for k in a["ema"])
    # the EMA does not change training: the raw weights equal those of a run without it
    plain = train(tiny(), tmp_path / "c", data_root=fake_mnist, progress=False, log=quiet)
    assert plain["iter_loss"] == straight["iter_loss"]
    loaded = load_trained(tmp_path / "a")
    assert loaded.weights == "ema"
    assert all(torch.equal(v, a["ema"][k]) for k, v in loaded.model.state_dict().items())
    assert load_trained(tmp_path / "a", weights="raw").weights == "raw"
    with pytest.raises(CheckpointError, match="no EMA"):
        load_trained(tmp_path / "c", weights="ema")


def test_ema_update_is_the_moving_average():
    from lib.ema import ema_copy, update_ema

    model = torch.nn.Linear(2, 1)
    ema = ema_copy(model)
    start = [p.detach().clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    update_ema(ema, model, 0.75)
    for p_ema, p0, p in zip(ema.parameters(), start, model.parameters()):
        assert torch.allclose(p_ema, 0.75 * p0 + 0.25 * p)
        assert not p_ema.requires_grad


def test_snapshots_keep_earlier_weights(fake_mnist, tmp_path):
    h = train(tiny(snapshot_epochs=(1,)), tmp_path / "r", data_root=fake_mnist, progress=False, log=quiet)
    assert snapshot_path(tmp_path / "r", 1).exists() and not snapshot_path(tmp_path / "r", 2).exists()
    early = load_trained(tmp_path / "r", epoch=1)
    last = load_trained(tmp_path / "r")
    assert early.epoch == 1 and last.epoch == 3 and early.history["val_loss"] == h["val_loss"]
    assert not all(torch.equal(early.model.state_dict()[k], v) for k, v in last.model.state_dict().items())
    with pytest.raises(CheckpointError, match=r"kept no weights from epoch 2; it has snapshots at \[1\]"):
        load_trained(tmp_path / "r", epoch=2)
    with pytest.raises(CheckpointError, match="not epoch 7"):
        load_trained(tmp_path / "r", epoch=7)


def test_time_budget_stops_mid_epoch_and_resumes_exactly(fake_mnist, tmp_path):
    straight = train(tiny(), tmp_path / "a", data_root=fake_mnist, progress=False, log=quiet)
    messages = []
    part = train(tiny(minutes=1e-9), tmp_path / "b", data_root=fake_mnist, progress=False, log=messages.append)
    state = read_checkpoint(tmp_path / "b")
    assert state["epoch"] == 0 and state["partial"]["batch"] == 1 and state["step"] == 1
    assert part["epoch"] == [] and "time budget" in messages[-1]
    again = train(tiny(minutes=1e-9), tmp_path / "b", resume=True, data_root=fake_mnist, progress=False, log=quiet)
    assert again["epoch"] == []  # the budget is spent: nothing to do
    resumed = train(tiny(), tmp_path / "b", resume=True, data_root=fake_mnist, progress=False, log=quiet)
    assert resumed["iter_loss"] == straight["iter_loss"] and resumed["val_loss"] == straight["val_loss"]
    assert read_checkpoint(tmp_path / "b")["step"] == len(straight["iter_loss"])
    assert "partial" not in read_checkpoint(tmp_path / "b")


def test_conditional_training_with_label_dropout(fake_mnist, tmp_path):
    h = train(tiny(num_classes=10, label_dropout=0.2, epochs=1), tmp_path / "r", data_root=fake_mnist,
              progress=False, log=quiet)
    loaded = load_trained(tmp_path / "r")
    assert loaded.model.num_classes == 10 and h["grids"][0].shape == (2, 28, 28)


def test_the_classifier_term_adds_the_frozen_classifiers_cross_entropy_on_labelled_x0_hat():
    from lib.classifier import MNISTClassifier
    from lib.diffusion import GaussianDiffusion, predict_x0
    from lib.processes import training_loss
    from lib.schedules import linear
    from lib.training import classifier_label_loss

    torch.manual_seed(0)
    net = get_config("default", num_classes=10).make_network()
    classifier = MNISTClassifier().eval()
    before = {k: v.clone() for k, v in classifier.state_dict().items()}
    process = GaussianDiffusion(linear(T=10))
    x0 = torch.rand(6, 1, 28, 28) * 2 - 1
    label = torch.tensor([3, -1, 0, 9, -1, 5])
    term = classifier_label_loss(classifier, 0.5)
    total = training_loss(net, process, x0, torch.Generator().manual_seed(1), label=label, label_loss=term)
    plain = training_loss(net, process, x0, torch.Generator().manual_seed(1), label=label)
    # by hand: the same t and noise (same generator), the images with a label, x0_hat clamped to [-1, 1]
    g = torch.Generator().manual_seed(1)
    t = torch.randint(1, 11, (6,), generator=g)
    x_t, _ = process.degrade(x0, t, g)
    with torch.no_grad():
        x0_hat = predict_x0(process.schedule, x_t, t, net(x_t, t.float() / 10, label))
        keep = label >= 0
        ce = torch.nn.functional.cross_entropy(classifier(x0_hat[keep].clamp(-1, 1)), label[keep])
    assert float((total - plain).detach()) == pytest.approx(0.5 * float(ce), rel=1e-5)
    total.backward()
    assert all(p.grad is None for p in classifier.parameters())  # the classifier is not trained
    assert all(torch.equal(before[k], v) for k, v in classifier.state_dict().items())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.label_embedding.parameters())


def test_a_run_with_the_classifier_term_trains_and_refuses_unconditional_networks(fake_mnist, tmp_path):
    from conftest import save_untrained_classifier

    cls = save_untrained_classifier(tmp_path / "cls.pt")
    h = train(tiny(num_classes=10, label_dropout=0.2, classifier_loss=0.1, epochs=1), tmp_path / "r",
              data_root=fake_mnist, progress=False, log=quiet, classifier_path=cls)
    assert len(h["val_loss"]) == 1 and all(v == v for v in h["iter_loss"])
    with pytest.raises(ValueError, match="classifier_loss needs a conditional network"):
        tiny(classifier_loss=0.1)
    with pytest.raises(ValueError, match="classifier_loss must be a weight >= 0"):
        tiny(num_classes=10, classifier_loss=-1.0)


def test_the_shipped_default_checkpoint_still_loads():
    from lib.config import shipped_checkpoint

    loaded = load_trained(shipped_checkpoint("default"))
    assert loaded.config.network == "cnn" and loaded.config.process == "gaussian" and loaded.weights == "raw"
    assert loaded.epoch == 100 and loaded.schedule.T == 1000


def test_ema_warmup_follows_its_formula_from_the_first_step(fake_mnist, tmp_path):
    from lib.ema import warmup_decay

    assert warmup_decay(0.999, 0) == pytest.approx(0.1) and warmup_decay(0.999, 10) == pytest.approx(11 / 20)
    assert warmup_decay(0.999, 10**6) == 0.999  # capped at the configured decay
    with pytest.raises(ValueError, match="step must be >= 0"):
        warmup_decay(0.9, -1)
    # one training step from the initial weights w0 to w1: EMA = 0.1 w0 + 0.9 w1 (decay 0.1 at step 0)
    cfg = tiny(ema_decay=0.999, ema_warmup=True, epochs=1, train_limit=16, batch_size=16, val_limit=4)
    train(cfg, tmp_path / "w", data_root=fake_mnist, progress=False, log=quiet)
    state = read_checkpoint(tmp_path / "w")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        w0 = cfg.make_network().state_dict()
    for k, v in state["ema"].items():
        if v.is_floating_point() and k in dict(cfg.make_network().named_parameters()):
            assert torch.allclose(v, 0.1 * w0[k] + 0.9 * state["model"][k], atol=1e-6), k
    with pytest.raises(ValueError, match="ema_warmup needs an ema_decay"):
        tiny(ema_warmup=True)


def test_step_clock_leaves_out_the_time_a_stopped_process_waited():
    """A step that saw SIGCONT (the process was stopped and resumed) counts as long as the step before."""
    import os
    import signal
    import time

    from lib.training import StepClock

    before = signal.getsignal(signal.SIGCONT)
    with StepClock() as clock:
        clock.start()
        time.sleep(0.05)
        first = clock.step()
        clock.start()
        os.kill(os.getpid(), signal.SIGCONT)  # what a resumed process receives
        time.sleep(0.5)  # stands for the time it was stopped
        paused = clock.step()
        clock.start()
        time.sleep(0.02)
        third = clock.step()
    assert 0.05 <= first < 0.3 and paused == first and 0.02 <= third < 0.2 and clock.pauses == 1
    assert signal.getsignal(signal.SIGCONT) == before  # the previous handler is back


def test_a_paused_run_does_not_spend_its_time_budget(fake_mnist, tmp_path, monkeypatch):
    """The budget counts computing time: a run stopped for longer than its whole budget trains on."""
    import os
    import signal
    import time

    from lib import training

    epoch_s = train(tiny(epochs=1), tmp_path / "a", data_root=fake_mnist, progress=False,
                    log=quiet)["train_seconds"][0]
    budget_s = 2 * epoch_s + 0.2
    real_step, calls = training.train_step, []

    def step_with_a_pause(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGCONT)
            time.sleep(budget_s + 0.5)  # stopped for longer than the whole budget
        return real_step(*args, **kwargs)

    monkeypatch.setattr(training, "train_step", step_with_a_pause)
    messages = []
    h = train(tiny(epochs=1, minutes=budget_s / 60), tmp_path / "r", data_root=fake_mnist, progress=False,
              log=messages.append)
    assert h["epoch"] == [1] and h["train_seconds"][0] < budget_s
    assert any("stopped" in m for m in messages)
