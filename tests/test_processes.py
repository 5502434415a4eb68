"""The forward-process interface is enough for a cold degradation: a small deterministic toy process
(fade to black) trains, checkpoints, loads and samples through the same code as DDPM, and both of
Cold Diffusion's sampling algorithms are plain step functions of the one sampling loop."""
import pytest
import torch

from lib import configs
from lib.processes import ForwardProcess, check_steps, training_loss
from lib.runs import load_trained
from lib.sampling import sample
from lib.training import train

from conftest import Oracle


class Fade(ForwardProcess):
    """D(x0, t) = (1 - t/T) x0 + (t/T) level: the image fades to a constant ``level`` learned from the
    data (the mean pixel of the training images); the network predicts x0."""

    default_step = "alg2"

    def __init__(self, T):
        self.T = T
        self.level = torch.tensor(0.0)

    def degrade_to(self, x0, t):
        s = (torch.as_tensor(t, dtype=x0.dtype).reshape(-1, 1, 1, 1) / self.T)
        return (1 - s) * x0 + s * self.level

    def degrade(self, x0, t, generator=None):
        check_steps(self.T, t)
        return self.degrade_to(x0, t), x0

    def prior(self, shape, generator):
        return torch.full(shape, float(self.level))

    def predict_x0(self, x_t, t, output):
        return output

    def fit(self, images, generator):
        self.level = images.mean()

    def state_dict(self):
        return {"level": self.level}

    def load_state_dict(self, state):
        self.level = state["level"]

    @staticmethod
    def alg1(process, output, t, t_prev, x_t, generator):  # x_{s-1} = D(R(x_s, s), s-1)
        return process.degrade_to(output, t_prev), output

    @staticmethod
    def alg2(process, output, t, t_prev, x_t, generator):  # x_{s-1} = x_s - D(x0_hat, s) + D(x0_hat, s-1)
        return x_t - process.degrade_to(output, t) + process.degrade_to(output, t_prev), output

    steps = {"alg1": alg1, "alg2": alg2}


def test_algorithm_2_walks_back_exactly_to_a_perfect_restorations_image():
    process = Fade(T=10)
    process.level = torch.tensor(-1.0)
    y = torch.rand(1, 1, 4, 4) * 2 - 1
    start = process.degrade_to(y.expand(3, 1, 4, 4), torch.full((3,), 10))
    for step in ("alg1", "alg2"):
        out = sample(Oracle(y), process, (3, 1, 4, 4), torch.Generator(), step=step, start=start, trajectory=True)
        assert torch.allclose(out.images, y.expand(3, 1, 4, 4), atol=1e-6)
        assert torch.allclose(out.trajectory[5], process.degrade_to(y, 5).expand(3, 1, 4, 4), atol=1e-6)


def test_training_loss_regresses_the_clean_image():
    process = Fade(T=10)
    x0 = torch.rand(8, 1, 4, 4)
    loss = training_loss(Oracle(x0[:1]), process, x0[:1].expand(8, 1, 4, 4), torch.Generator().manual_seed(0))
    assert loss.item() == 0.0


def test_a_toy_degradation_trains_checkpoints_and_samples_through_the_library(fake_mnist, tmp_path, monkeypatch):
    monkeypatch.setitem(configs.PROCESSES, "fade", lambda config: Fade(config.T))
    cfg = configs.get_config("default", process="fade", T=5, epochs=2, batch_size=32, n_grid=2,
                             sample_epochs=(1,), precision="fp32")
    h = train(cfg, tmp_path / "run", data_root=fake_mnist, progress=False, log=lambda m: None)
    assert h["train_loss"][-1] < h["train_loss"][0]
    loaded = load_trained(tmp_path / "run")
    assert isinstance(loaded.process, Fade)
    from lib.data import load_mnist

    assert float(loaded.process.level) == pytest.approx(float(load_mnist("train", root=fake_mnist).images.mean()))
    a = sample(loaded.model, loaded.process, (2, 1, 28, 28), torch.Generator(), step="alg1").images
    b = sample(loaded.model, loaded.process, (2, 1, 28, 28), torch.Generator()).images  # default: alg2
    assert a.shape == b.shape == (2, 1, 28, 28) and torch.isfinite(a).all()
    with pytest.raises(ValueError, match="no sampler 'ddim'"):
        sample(loaded.model, loaded.process, (1, 1, 28, 28), torch.Generator(), step="ddim")
