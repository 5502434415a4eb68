import pytest
import torch

from lib import classifier as C
from lib.data import MNISTNotFoundError, load_mnist
from lib.checkpoints import CheckpointError


def test_shapes_and_size():
    m = C.MNISTClassifier().eval()
    x = torch.zeros(3, 1, 28, 28)
    assert m(x).shape == (3, 10) and m.features(x).shape == (3, C.MNISTClassifier.num_features)
    assert sum(p.numel() for p in m.parameters()) < 150_000  # a few hundred KB
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        m(torch.zeros(3, 28, 28))


def test_training_learns_the_fake_digits(fake_mnist):
    model, record = C.train_classifier(epochs=6, batch_size=16, lr=5e-3, data_root=fake_mnist, progress=False)
    assert record["test_accuracy"] > 0.9  # each fake label is one stroke pattern
    assert record["seed"] == 0 and record["epochs"] == 6


def test_save_load_round_trip_and_errors(tmp_path):
    m = C.MNISTClassifier()
    path = C.save_classifier(m, {"test_accuracy": 0.5}, tmp_path / "c.pt")
    loaded = C.load_classifier(path)
    assert loaded.meta == {"test_accuracy": 0.5} and len(loaded.sha256) == 64
    with pytest.raises(CheckpointError, match="no classifier"):
        C.load_classifier(tmp_path / "none.pt")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable classifier"):
        C.load_classifier(tmp_path / "bad.pt")


def test_shipped_classifier_reaches_99_percent_on_the_test_set():
    loaded = C.load_classifier()
    assert loaded.meta["test_accuracy"] >= 0.99
    assert loaded.meta["command"].startswith("python -m lib.classifier")
    try:
        test = load_mnist("test", download=False)
    except MNISTNotFoundError:
        pytest.skip("MNIST not available here (set DIFFUSION_BOOK_DATA); CI has it")
    acc = C.accuracy(loaded.model, test.images, test.labels)
    # the recorded number is reproduced (to 2 of 10,000 images, allowing for other CPUs' float rounding)
    assert acc == pytest.approx(loaded.meta["test_accuracy"], abs=2e-4)
    assert C.SHIPPED_CLASSIFIER.stat().st_size < 1_000_000
