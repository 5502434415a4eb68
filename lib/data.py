"""MNIST as in-memory tensors, with a fixed train/validation split.

Images are decoded once by torchvision and kept as one uint8 tensor; training batches are index
slices of it (no per-item PIL decoding). Pixel values for the models are scaled to [-1, 1].
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import DATA_ENV, data_root

#: Share of the official training images held out for validation: 5,000 of MNIST's 60,000.
VALIDATION_FRACTION = 1 / 12
#: Seed of the permutation that defines the split; fixed so every run sees the same split.
SPLIT_SEED = 0


class MNISTNotFoundError(FileNotFoundError):
    """MNIST is neither on disk nor downloadable."""


@dataclass(frozen=True)
class MNISTSplit:
    """One split: ``images`` (N, 1, 28, 28) float in [-1, 1] (or the size asked for) and ``labels`` (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]


def _missing_message(root: Path, reason: str) -> str:
    # Name the absolute folder that was searched: a relative path is read from the current working
    # directory, which in a chapter kernel is book/ or _build/nbval, not where the command was typed.
    return (
        f"MNIST not found under '{os.path.abspath(root)}' ({reason}). Set ${DATA_ENV} (or pass root=...) "
        f"to a folder holding MNIST/raw/train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        f"t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (the layout torchvision.datasets.MNIST "
        f"reads); with internet access it is downloaded there automatically."
    )


def _load_raw(root: Path, train: bool, download: bool) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(str(root), train=train, download=False)
    except RuntimeError:
        if not download:
            raise MNISTNotFoundError(_missing_message(root, "download disabled")) from None
        try:
            ds = MNIST(str(root), train=train, download=True)
        except Exception as exc:  # offline: URLError, socket errors, HTTP errors
            raise MNISTNotFoundError(
                _missing_message(root, f"download failed: {type(exc).__name__}")
            ) from None
    return ds.data, ds.targets


def to_model_range(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) in [0, 255] -> float (N, 1, H, W) in [-1, 1]."""
    return (images_uint8.float() / 127.5 - 1.0).unsqueeze(1)


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Model range [-1, 1] -> [0, 1], clamped."""
    return ((x.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Model range [-1, 1] -> uint8 0..255 (clamped, rounded), shape kept: the book's image format."""
    return (to_unit_range(x) * 255).round().to(torch.uint8)


def resize_like_cold_diffusion(images_uint8: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, H, W) -> uint8 (N, size, size) as the Cold Diffusion authors' data loader makes its
    32-pixel MNIST: a bilinear resize to int(1.12 * size) pixels, then the central size x size crop
    (so the digit is magnified by int(1.12 * size) / 28, 1.25 for 32 pixels, and loses a thin border)."""
    from torchvision.transforms.v2 import functional as TF

    big = int(size * 1.12)
    resized = TF.resize(images_uint8[:, None], [big, big], interpolation=TF.InterpolationMode.BILINEAR,
                        antialias=True)
    return TF.center_crop(resized, [size, size])[:, 0]


def load_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    limit: int | None = None,
    image_size: int = 28,
) -> MNISTSplit:
    """Load an MNIST split as tensors in memory.

    ``split`` is ``"train"`` (55,000 images), ``"val"`` (5,000 images held out of the official
    training set by a fixed permutation) or ``"test"`` (the official 10,000). ``limit`` keeps the
    first ``limit`` images of the split (short mode). ``image_size`` other than 28 resizes the images
    with :func:`resize_like_cold_diffusion`. The data root is ``root``, else
    ``$DIFFUSION_BOOK_DATA``, else a per-user cache folder.
    """
    if split not in {"train", "val", "test"}:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images, got {limit}")
    folder = data_root(root)
    images, labels = _load_raw(folder, train=split != "test", download=download)
    if split != "test":
        n_val = round(images.shape[0] * VALIDATION_FRACTION)
        perm = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(SPLIT_SEED))
        idx = perm[:n_val] if split == "val" else perm[n_val:]
        idx = idx.sort().values
        images, labels = images[idx], labels[idx]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if image_size != 28:
        images = resize_like_cold_diffusion(images, image_size)
    return MNISTSplit(to_model_range(images), labels.long())
