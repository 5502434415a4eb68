"""The data sets, as in-memory tensors with fixed train/validation/test splits.

:data:`DATASETS` names the data sets the book trains on: MNIST (the book's), Fashion-MNIST, CIFAR-10
and FGVC-Aircraft, each read by its torchvision class from torchvision's own layout under one data
root (``root=``, ``--data`` or ``$DIFFUSION_BOOK_DATA``). Images are decoded once and kept as one
tensor; training batches are index slices of it (no per-item PIL decoding). Pixel values for the
models are scaled to [-1, 1].

Splits: MNIST, Fashion-MNIST and CIFAR-10 hold ``"val"`` out of their official training set by one
fixed seeded permutation (5,000 images of 60,000 and of 50,000); ``"test"`` is the official test set.
FGVC-Aircraft has official train, val and test splits (3,334 / 3,333 / 3,333 photos).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from .config import DATA_ENV, data_root

#: Seed of the permutation that defines a held-out validation split; fixed so every run sees the same split.
SPLIT_SEED = 0
SPLITS = ("train", "val", "test")
#: Rows of copyright banner at the bottom of every FGVC-Aircraft photo (cut off before use).
AIRCRAFT_BANNER = 20


class DatasetNotFoundError(FileNotFoundError):
    """A data set is neither on disk nor downloadable."""


#: The former name, kept so that ``except MNISTNotFoundError`` catches a missing data set as before.
MNISTNotFoundError = DatasetNotFoundError


@dataclass(frozen=True)
class ImageSplit:
    """One split: ``images`` (N, C, H, W) float in [-1, 1] and ``labels`` (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.images.shape[0]


MNISTSplit = ImageSplit  # the former name


def to_model_range(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255], (N, H, W) or (N, C, H, W) -> float (N, C, H, W) in [-1, 1] (C = 1 for (N, H, W))."""
    x = images_uint8.float() / 127.5 - 1.0
    return x.unsqueeze(1) if x.ndim == 3 else x


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Model range [-1, 1] -> [0, 1], clamped."""
    return ((x.float() + 1.0) / 2.0).clamp(0.0, 1.0)


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Model range [-1, 1] -> uint8 0..255 (clamped, rounded), shape kept: the book's image format."""
    return (to_unit_range(x) * 255).round().to(torch.uint8)


def to_image_array(x: torch.Tensor) -> torch.Tensor:
    """Model-range images (N, C, H, W) -> uint8 as the book stores and draws them: (N, H, W) when grey
    (C = 1), (N, H, W, 3) when in colour (channels last, as matplotlib and PIL take them)."""
    u = to_uint8(x)
    return u[:, 0] if u.shape[1] == 1 else u.permute(0, 2, 3, 1).contiguous()


def resize_like_cold_diffusion(images_uint8: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, H, W) or (N, C, H, W) -> the same at size x size, as the Cold Diffusion authors' data
    loader makes its 32-pixel MNIST: a bilinear resize to int(1.12 * size) pixels, then the central
    size x size crop (so the digit is magnified by int(1.12 * size) / 28, 1.25 for 32 pixels, and loses
    a thin border)."""
    from torchvision.transforms.v2 import functional as TF

    grey = images_uint8.ndim == 3
    x = images_uint8[:, None] if grey else images_uint8
    big = int(size * 1.12)
    resized = TF.resize(x, [big, big], interpolation=TF.InterpolationMode.BILINEAR, antialias=True)
    out = TF.center_crop(resized, [size, size])
    return out[:, 0] if grey else out


def aircraft_square(photo, size: int) -> torch.Tensor:
    """An FGVC-Aircraft photo (PIL) -> uint8 (3, size, size): the copyright banner at the bottom cut
    off, the central square kept, resized with PIL's antialiased bicubic filter. A JPEG not yet
    decoded is decoded at the smallest of 1/1, 1/2, 1/4 or 1/8 scale that keeps at least twice
    ``size`` pixels in the square (PIL's draft mode: about 6 times faster on the full-size photos)."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as TF

    width, height = photo.size[0], photo.size[1] - AIRCRAFT_BANNER
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    if 2 * size < side:
        photo.draft("RGB", (math.ceil(2 * size * photo.size[0] / side), math.ceil(2 * size * photo.size[1] / side)))
    scale = 1 / round(width / photo.size[0])  # 1, or the draft's 1/2, 1/4 or 1/8
    # the square at the decoded scale, rounded inwards: no decoded pixel that holds banner or sides is kept
    box = (math.ceil(left * scale), math.ceil(top * scale), int((left + side) * scale), int((top + side) * scale))
    square = photo.convert("RGB").crop(box)
    return TF.pil_to_tensor(square.resize((size, size), Image.Resampling.BICUBIC))


# --- what each data set's torchvision object holds, as uint8 (N, C, H, W) and labels ----------------

def _decode_idx(ds, idx: torch.Tensor, size: int):
    """MNIST and Fashion-MNIST: ``ds.data`` is uint8 (N, 28, 28); another size is Cold Diffusion's resize."""
    images = ds.data[idx][:, None]
    if size != images.shape[-1]:
        images = resize_like_cold_diffusion(images, size)
    return images, torch.as_tensor(ds.targets)[idx]


def _decode_cifar(ds, idx: torch.Tensor, size: int):
    """CIFAR-10: ``ds.data`` is a uint8 numpy array (N, 32, 32, 3), channels last."""
    images = torch.from_numpy(ds.data[idx.numpy()]).permute(0, 3, 1, 2).contiguous()
    return images, torch.as_tensor(ds.targets)[idx]


def _open_photo(path: str):
    """FGVC-Aircraft's loader: the photo opened, not yet decoded (:func:`aircraft_square` decodes it)."""
    from PIL import Image

    return Image.open(path)


def _decode_aircraft(ds, idx: torch.Tensor, size: int):
    """FGVC-Aircraft: one JPEG per item, decoded here one at a time and cut to a square of ``size``."""
    images, labels = [], []
    for i in idx.tolist():
        photo, label = ds[i]
        with photo:
            images.append(aircraft_square(photo, size))
        labels.append(label)
    return torch.stack(images), torch.tensor(labels)


@dataclass(frozen=True)
class Dataset:
    """A data set: where torchvision finds it, what its images are, and how its splits are made."""

    title: str  # as people write it, for messages
    torchvision_class: str  # the class of torchvision.datasets that reads it
    folder: str  # under the data root, the folder torchvision reads ...
    files: tuple[str, ...]  # ... and the files it expects there
    channels: int
    image_size: int  # the native size (FGVC-Aircraft: the default size its photos are cut to)
    num_classes: int
    decode: Callable  # (torchvision object, indices, size) -> uint8 (n, C, size, size), labels (n,)
    resizable: bool = False  # may image_size differ from the native size?
    val_fraction: float | None = None  # share of the official training set held out as "val" (None: official val)
    options: dict = field(default_factory=dict)  # further arguments of the torchvision class

    def check_size(self, image_size: int | None) -> int:
        """``image_size``, or the native size for None; a ValueError if this data set is not resized."""
        size = self.image_size if image_size is None else image_size
        if size != self.image_size and not self.resizable:
            raise ValueError(f"{self.title} images are {self.image_size} x {self.image_size} pixels and the book "
                             f"does not resize them; set image_size = {self.image_size} or leave it out")
        return size

    def expected(self) -> str:
        """The files torchvision expects, for messages: 'FOLDER/a, b and c'."""
        return f"{self.folder}/{', '.join(self.files[:-1])} and {self.files[-1]}"


_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

#: The data sets by name (``TrainConfig.dataset``, ``python -m lib.train --dataset``).
DATASETS: dict[str, Dataset] = {
    # 5,000 of the 60,000 training images held out, 55,000 left to train on
    "mnist": Dataset("MNIST", "MNIST", "MNIST/raw", _IDX_FILES, channels=1, image_size=28, num_classes=10,
                     decode=_decode_idx, resizable=True, val_fraction=1 / 12),
    "fashion-mnist": Dataset("Fashion-MNIST", "FashionMNIST", "FashionMNIST/raw", _IDX_FILES, channels=1,
                             image_size=28, num_classes=10, decode=_decode_idx, val_fraction=1 / 12),
    # 5,000 of the 50,000 training images held out, 45,000 left to train on
    "cifar10": Dataset("CIFAR-10", "CIFAR10", "cifar-10-batches-py",
                       (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta"),
                       channels=3, image_size=32, num_classes=10, decode=_decode_cifar, val_fraction=1 / 10),
    "fgvc-aircraft": Dataset("FGVC-Aircraft", "FGVCAircraft", "fgvc-aircraft-2013b/data",
                             ("images/*.jpg", "variants.txt", "images_variant_train.txt", "images_variant_val.txt",
                              "images_variant_test.txt"),
                             channels=3, image_size=32, num_classes=100, decode=_decode_aircraft, resizable=True,
                             options={"annotation_level": "variant", "loader": _open_photo}),
}


def dataset_info(name: str) -> Dataset:
    """The entry of :data:`DATASETS` called ``name``, or a ValueError listing the choices."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name]


def _missing_message(data: Dataset, root: Path, reason: str) -> str:
    # Name the absolute folder that was searched: a relative path is read from the current working
    # directory, which in a chapter kernel is book/ or _build/nbval, not where the command was typed.
    return (
        f"{data.title} not found under '{os.path.abspath(root)}' ({reason}). Set ${DATA_ENV} (or pass root=...), "
        f"or --data on the command line, to a folder holding {data.expected()} (the layout "
        f"torchvision.datasets.{data.torchvision_class} reads); with internet access it is downloaded there "
        f"automatically."
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return type(exc).__name__ + (f": {text[0][:160].rstrip(':')}" if text else "")


def _open(data: Dataset, root: Path, split: str, download: bool):
    """The torchvision object of ``split``'s official source; a :class:`DatasetNotFoundError` if its files
    are missing and cannot be downloaded. torchvision raises RuntimeError for missing or corrupted files
    (MNIST, CIFAR-10's checksums, no FGVC-Aircraft folder) and OSError for a folder without its split
    files; a failed download raises URLError, HTTPError or socket errors (OSError), RuntimeError (all
    mirrors failed, checksum), or an archive's error."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, data.torchvision_class)
    source = {"train": split != "test"} if data.val_fraction is not None else {"split": split}
    try:
        return cls(str(root), download=False, **source, **data.options)
    except (RuntimeError, OSError):
        if not download:
            raise DatasetNotFoundError(_missing_message(data, root, "download disabled")) from None
    try:
        return cls(str(root), download=True, **source, **data.options)
    except Exception as exc:  # whatever a download or a broken archive raises, in one line
        raise DatasetNotFoundError(_missing_message(data, root, f"download failed: {_first_line(exc)}")) from None


def _split_indices(data: Dataset, n: int, split: str) -> torch.Tensor:
    """Indices into the official source of ``split``: a held-out split is a fixed permutation's share."""
    if data.val_fraction is None or split == "test":
        return torch.arange(n)
    n_val = round(n * data.val_fraction)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return (perm[:n_val] if split == "val" else perm[n_val:]).sort().values


def load_dataset(
    name: str,
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    limit: int | None = None,
    image_size: int | None = None,
) -> ImageSplit:
    """Load a split of the data set ``name`` (a key of :data:`DATASETS`) as tensors in memory.

    ``split`` is ``"train"``, ``"val"`` or ``"test"`` (see the module's docstring). ``limit`` keeps
    the first ``limit`` images of the split (short mode). ``image_size`` (default: the data set's
    native size) resizes MNIST the Cold Diffusion way and sets FGVC-Aircraft's square; the others are
    used at their own size only. The data root is ``root``, else ``$DIFFUSION_BOOK_DATA``, else a
    per-user cache folder.
    """
    data = dataset_info(name)
    if split not in SPLITS:
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of images, got {limit}")
    size = data.check_size(image_size)
    folder = data_root(root)
    ds = _open(data, folder, split, download)
    idx = _split_indices(data, len(ds), split)[:limit]
    try:
        images, labels = data.decode(ds, idx, size)
    except OSError as exc:  # a photo listed in FGVC-Aircraft's split files that is missing or unreadable
        raise DatasetNotFoundError(_missing_message(data, folder, _first_line(exc))) from None
    return ImageSplit(to_model_range(images), labels.long())


def load_mnist(
    split: str = "train",
    root: str | os.PathLike | None = None,
    download: bool = True,
    limit: int | None = None,
    image_size: int = 28,
) -> ImageSplit:
    """Load an MNIST split: ``"train"`` (55,000 images), ``"val"`` (5,000 held out of the official
    training set) or ``"test"`` (the official 10,000); ``image_size`` other than 28 resizes the images
    with :func:`resize_like_cold_diffusion`. See :func:`load_dataset`."""
    return load_dataset("mnist", split, root=root, download=download, limit=limit, image_size=image_size)
