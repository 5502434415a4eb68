"""A small MNIST classifier whose features replace InceptionV3's in this book's FID, KID, IS and
precision/recall. ``python -m lib.classifier [--epochs E] [--seed S] [--out PATH]`` trains it and
records its test accuracy, seed and command in the saved file (the command line is
:mod:`lib.cli.classifier`).

The network takes images in the model range [-1, 1], shape (N, 1, 28, 28). ``features`` returns the
128-dimensional penultimate layer, ``forward`` the 10 class logits.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .config import CHECKPOINT_DIR
from .data import load_mnist
from .checkpoints import CheckpointError, save_checkpoint

CLASSIFIER_FORMAT = "diffusion-book-classifier"
#: Where the repository ships the trained classifier.
SHIPPED_CLASSIFIER = CHECKPOINT_DIR / "classifier" / "classifier.pt"
#: The data set the classifier was trained on: the only one whose samples its features can score.
CLASSIFIER_DATASET = "mnist"


def check_scorable(dataset: str, what: str = "scoring") -> None:
    """A one-line ValueError unless samples of ``dataset`` can be scored with this classifier (MNIST
    only: Fashion-MNIST is grey and 28 x 28 too, but its features would measure nothing meaningful)."""
    if dataset != CLASSIFIER_DATASET:
        raise ValueError(f"{what}: the book's MNIST classifier cannot score a {dataset} run (it reads handwritten "
                         f"digits); other data sets need InceptionV3 features: python -m lib.sample, then "
                         f"python -m lib.metrics FILE.npz --inception-weights PATH")


class MNISTClassifier(nn.Module):
    """Two 3x3 convolution pairs with max-pooling, global average pooling, then 128 -> 10."""

    num_features = 128

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(64, self.num_features), nn.ReLU(),
        )
        self.head = nn.Linear(self.num_features, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
            raise ValueError(f"the classifier expects images of shape (N, 1, 28, 28), got {tuple(x.shape)}")
        return self.body(x.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


@dataclass
class LoadedClassifier:
    model: MNISTClassifier
    meta: dict
    sha256: str
    path: Path


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_classifier(path: str | os.PathLike | None = None) -> LoadedClassifier:
    """Load the trained classifier (default: the one shipped in ``checkpoints/classifier``)."""
    path = Path(path) if path is not None else SHIPPED_CLASSIFIER
    if not path.exists():
        raise CheckpointError(f"no classifier at '{path}'; train one with `python -m lib.classifier`")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"'{path}' is not a readable classifier file (corrupt?): {type(exc).__name__}") from None
    if not isinstance(state, dict) or state.get("format") != CLASSIFIER_FORMAT:
        raise CheckpointError(f"'{path}' is not a diffusion-book classifier")
    model = MNISTClassifier()
    model.load_state_dict(state["model"])
    model.eval()
    return LoadedClassifier(model, state["meta"], file_sha256(path), path)


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = sum(int((model(images[i:i + batch]).argmax(1) == labels[i:i + batch]).sum())
                  for i in range(0, len(images), batch))
    return correct / len(images)


def train_classifier(epochs: int = 8, seed: int = 0, lr: float = 2e-3, batch_size: int = 128,
                     data_root=None, limit: int | None = None, progress: bool = True) -> tuple[MNISTClassifier, dict]:
    """Train on the 55,000-image training split (Adam, random shifts of up to 2 pixels); return the
    model and a record with the validation and test accuracy."""
    train, val, test = (load_mnist(s, root=data_root, limit=limit) for s in ("train", "val", "test"))
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MNISTClassifier()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * -(-len(train) // batch_size))
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        perm = torch.randperm(len(train), generator=g)
        bar = tqdm(range(0, len(train), batch_size), desc=f"classifier epoch {epoch}/{epochs}", disable=not progress)
        for start in bar:
            idx = perm[start:start + batch_size]
            x = train.images[idx]
            dx, dy = (int(v) for v in torch.randint(-2, 3, (2,), generator=g))
            x = torch.roll(F.pad(x, (2, 2, 2, 2), value=-1.0), shifts=(dy, dx), dims=(2, 3))[:, :, 2:-2, 2:-2]
            loss = F.cross_entropy(model(x), train.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    record = {"epochs": epochs, "seed": seed, "lr": lr, "batch_size": batch_size,
              "val_accuracy": accuracy(model, val.images, val.labels),
              "test_accuracy": accuracy(model, test.images, test.labels),
              "train_seconds": round(time.perf_counter() - t0, 1), "torch": str(torch.__version__)}
    return model, record


def save_classifier(model: MNISTClassifier, meta: dict, path: str | os.PathLike) -> Path:
    return save_checkpoint(path, {"format": CLASSIFIER_FORMAT, "model": model.state_dict(), "meta": meta})


if __name__ == "__main__":
    import sys

    from . import cli
    from .cli import classifier

    sys.exit(cli.run(classifier.main, prog="python -m lib.classifier"))
