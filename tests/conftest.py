"""Shared fixtures. ``fake_mnist`` writes a tiny MNIST in torchvision's raw IDX layout, so library
tests never depend on the real data set being present."""
from __future__ import annotations

import struct

import numpy as np
import pytest
import torch


def write_idx(path, array: np.ndarray) -> None:
    dims = array.shape
    magic = 0x0800 << 0 | len(dims)  # unsigned byte data, then the number of dimensions
    with open(path, "wb") as f:
        f.write(struct.pack(">I", magic))
        f.write(struct.pack(">" + "I" * len(dims), *dims))
        f.write(array.astype(np.uint8).tobytes())


def make_fake_mnist(root, n_train=240, n_test=60, seed=0):
    rng = np.random.default_rng(seed)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    patterns = (np.random.default_rng(1234).random((10, 12, 12)) < 0.4).astype(np.uint8) * 255
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = np.zeros((n, 28, 28), np.uint8)
        labels = rng.integers(0, 10, n)
        for i, lab in enumerate(labels):  # label k: one fixed random 12x12 stroke pattern, jittered
            dy, dx = rng.integers(-3, 4, 2)
            images[i, 8 + dy:20 + dy, 8 + dx:20 + dx] = patterns[lab]
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return root


class Oracle(torch.nn.Module):
    """A restoration network that always answers the same clean image."""

    def __init__(self, image):
        super().__init__()
        self.image = image

    def forward(self, x, t_frac):
        return self.image.expand_as(x)


def run_cli(module, argv, capsys):
    """Run a command's main() as the shell would (one-line errors, exit status); returns (code, out, err)."""
    from lib import cli

    try:
        code = cli.run(module.main, argv, prog=module.__name__)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def fake_mnist(tmp_path):
    return make_fake_mnist(tmp_path / "data")


def save_untrained_classifier(path):
    """The book's classifier architecture, untrained (seed 0), saved at ``path``: scores computed on
    its features are deterministic, which is all the scoring tests need."""
    from lib.classifier import MNISTClassifier, save_classifier

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = MNISTClassifier()
    return save_classifier(net, {"test_accuracy": 0.0}, path)


def make_scoring_run(root, **changes):
    """A tiny default-configuration run (T = 10, fp32) trained on a fake MNIST in ``root``, with
    ``changes``, and an untrained classifier: returns (run folder, data root, classifier path)."""
    from lib.configs import get_config
    from lib.training import train

    data = make_fake_mnist(root / "data")
    cfg = get_config("default", **{"T": 10, "batch_size": 64, "sample_epochs": (), "precision": "fp32", **changes})
    train(cfg, root / "run", data_root=data, progress=False, log=lambda m: None)
    return root / "run", data, save_untrained_classifier(root / "cls.pt")


@pytest.fixture
def scoring_setup(tiny_run, tmp_path, monkeypatch):
    """The requesting module's ``tiny_run`` (from :func:`make_scoring_run`) with its classifier loaded
    and the feature cache in a temporary folder."""
    from lib import metrics
    from lib.classifier import load_classifier

    monkeypatch.setenv(metrics.CACHE_ENV, str(tmp_path / "cache"))
    run, data, cls = tiny_run
    return run, data, load_classifier(cls)
