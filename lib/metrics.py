"""Sample-quality metrics on features that mean something for MNIST.

FID (Heusel et al. 2017) and KID go through torchmetrics with the book's MNIST classifier
(:mod:`lib.classifier`) as the feature module; the Inception Score (Salimans et al. 2016) through
torchmetrics' ``InceptionScore`` fed with the classifier's logits, one split, so it is exactly
exp(E_x KL(p(y|x) || p_hat(y))) with p_hat the empirical marginal of the scored images; generative
precision and recall (Kynkaanniemi et al. 2019) are implemented here on the same features. The
standard InceptionV3 FID and IS of papers are in :mod:`lib.inception`, image sets of known quality
in :mod:`lib.probes`.

Images everywhere are uint8 (N, 28, 28) or (N, 1, 28, 28), 0 = background, or floats in [0, 1].
The test set's features are computed once per (classifier, data) pair and cached on disk.

``python -m lib.metrics FILE.npz [--n N]`` scores a file written by ``lib.sample`` (the command line
is :mod:`lib.cli.metrics`).
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
from .classifier import CLASSIFIER_DATASET, LoadedClassifier, check_scorable, load_classifier
from .data import load_mnist, to_uint8

#: Environment variable naming the folder for cached features (see :func:`cache_dir`).
CACHE_ENV = "DIFFUSION_BOOK_CACHE"
#: Version of the classifier-feature pipeline (scaling of uint8 images, layer used); part of the cache key.
FEATURES_VERSION = 1


def as_uint8_images(images, size: int | None = 28) -> torch.Tensor:
    """Validate and convert images to uint8 (N, 1, size, size) (any square size for ``size=None``)."""
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.detach().cpu()
    if x.ndim == 3:
        x = x[:, None]
    if size is None and x.ndim == 4 and x.shape[1] == 1 and x.shape[2] == x.shape[3]:
        size = x.shape[2]
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, size, size):
        want = f"{size}, {size}" if size else "H, H"
        raise ValueError(f"images must have shape (N, {want}) or (N, 1, {want}), got {tuple(x.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 images to compare distributions, got {x.shape[0]}")
    if x.dtype == torch.uint8:
        return x
    if not torch.is_floating_point(x):
        raise ValueError(f"images must be uint8 in [0, 255] or floats in [0, 1], got dtype {x.dtype}")
    if not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise ValueError("float images must be finite and lie in [0, 1] (use uint8 for 0..255)")
    return (x * 255).round().to(torch.uint8)


class ClassifierFeatures(nn.Module):
    """torchmetrics feature module: uint8 (N, 1, 28, 28) -> classifier features (or logits)."""

    def __init__(self, classifier: nn.Module, output: str = "features"):
        super().__init__()
        if output not in ("features", "logits"):
            raise ValueError(f"output must be 'features' or 'logits', got {output!r}")
        self.classifier = classifier.eval()
        self.output = output
        self.num_features = classifier.num_features if output == "features" else 10

    def train(self, mode: bool = True):  # never leaves eval mode (BatchNorm statistics are fixed)
        return super().train(False)

    @torch.no_grad()
    def forward(self, imgs: torch.Tensor) -> torch.Tensor:
        if not isinstance(imgs, torch.Tensor):
            raise TypeError(f"ClassifierFeatures takes a torch uint8 tensor (N, 1, 28, 28), got a "
                            f"{type(imgs).__module__}.{type(imgs).__name__}; convert it with lib.metrics.as_uint8_images")
        if imgs.dtype != torch.uint8:
            raise TypeError(f"ClassifierFeatures takes uint8 images, got {imgs.dtype}; convert model-range images "
                            f"with lib.data.to_uint8")
        x = imgs.float() / 127.5 - 1.0
        out = []
        for i in range(0, len(x), 1000):
            chunk = x[i:i + 1000]
            out.append(self.classifier.features(chunk) if self.output == "features" else self.classifier(chunk))
        return torch.cat(out)


def read_digits(images: torch.Tensor, classifier: LoadedClassifier) -> torch.Tensor:
    """The classifier's reading of uint8 images (N, 1, 28, 28): one digit per image (its largest logit)."""
    return ClassifierFeatures(classifier.model, "logits")(images).argmax(1)


# ----------------------------------------------------------------------------- reference cache

def cache_dir() -> Path:
    """Folder of the cached features (these reference features, and :mod:`lib.inception`'s):
    ``$DIFFUSION_BOOK_CACHE``, else ``diffusion-book/metrics`` in ``$XDG_CACHE_HOME`` or ``~/.cache``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "diffusion-book" / "metrics"


def reference_features(classifier: LoadedClassifier, data_root=None, split: str = "test") -> dict:
    """Features and logits of an MNIST split, cached on disk by classifier and data checksum."""
    data = load_mnist(split, root=data_root)
    images = to_uint8(data.images)
    data_sha = hashlib.sha256(images.numpy().tobytes()).hexdigest()
    path = cache_dir() / f"ref-{split}-v{FEATURES_VERSION}-{classifier.sha256[:16]}-{data_sha[:16]}.pt"
    if path.exists():
        try:
            ref = torch.load(path, map_location="cpu", weights_only=True)
            if (ref.get("classifier_sha256") == classifier.sha256 and ref.get("data_sha256") == data_sha
                    and ref.get("features_version") == FEATURES_VERSION):
                return ref
        except Exception:
            pass  # unreadable cache: recompute
    ref = {"features": ClassifierFeatures(classifier.model)(images),
           "logits": ClassifierFeatures(classifier.model, "logits")(images),
           "labels": data.labels, "classifier_sha256": classifier.sha256, "data_sha256": data_sha, "split": split,
           "features_version": FEATURES_VERSION}
    save_atomically(ref, path, fsync=False)  # a cache: losing it on a crash costs only a recomputation
    return ref


# ----------------------------------------------------------------------------- metrics

def _feature_module(m: nn.Module) -> nn.Module:
    """A feature module with ``num_features`` as is; the MNIST classifier wrapped in ClassifierFeatures."""
    return m if isinstance(m, ClassifierFeatures) or not hasattr(m, "features") else ClassifierFeatures(m)


def _quiet(fn):
    """Silence torchmetrics' warnings about states set directly rather than through update()."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*(before the ``update``|will save all extracted|degrees of freedom)")
            return fn(*args, **kwargs)

    return wrapper


@_quiet
def fid_from_features(real: torch.Tensor, fake: torch.Tensor, classifier: nn.Module) -> float:
    """FID through torchmetrics' FrechetInceptionDistance, with its real-feature state filled from
    precomputed features (identical to feeding the real images through the same module).
    ``classifier`` is the MNIST classifier or any feature module with ``num_features``."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=_feature_module(classifier), reset_real_features=False)
    r = real.double()
    metric.real_features_sum = r.sum(0)
    metric.real_features_cov_sum = r.t().mm(r)
    metric.real_features_num_samples = torch.tensor(len(r)).long()
    f = fake.double()
    metric.fake_features_sum = f.sum(0)
    metric.fake_features_cov_sum = f.t().mm(f)
    metric.fake_features_num_samples = torch.tensor(len(f)).long()
    metric.orig_dtype = torch.float32
    return float(metric.compute())


def fid_of_sets(reference: torch.Tensor, sets: dict, features, module: nn.Module) -> dict[str, float]:
    """FID of each named image set against precomputed ``reference`` features, where ``features``
    maps images to features and ``module`` is the classifier or feature module they come from."""
    return {name: fid_from_features(reference, features(images), module) for name, images in sets.items()}


@_quiet
def kid_from_features(real: torch.Tensor, fake: torch.Tensor, classifier: nn.Module, subsets: int = 50,
                      subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """KID through torchmetrics' KernelInceptionDistance: the unbiased MMD^2 estimate with the kernel
    (a.b / d + 1)^3, averaged over ``subsets`` random subsets of ``subset_size`` (capped at the set
    sizes). Returns (mean, std over subsets); when a set is no larger than the subset size, every subset
    holds all of it, so the std reflects only the resampling of the other set, not an uncertainty."""
    from torchmetrics.image.kid import KernelInceptionDistance

    size = min(subset_size, len(real), len(fake))
    metric = KernelInceptionDistance(feature=_feature_module(classifier), subsets=subsets, subset_size=size)
    metric.real_features = [real.double()]  # double: the kernel sums cancel to small differences
    metric.fake_features = [fake.double()]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)


@_quiet
def inception_score_from_logits(logits: torch.Tensor, classifier: nn.Module) -> float:
    """IS = exp(E_x KL(p(y|x) || p_hat(y))), torchmetrics' InceptionScore with one split."""
    from torchmetrics.image.inception import InceptionScore

    metric = InceptionScore(feature=ClassifierFeatures(classifier, "logits"), splits=1)
    metric.features = [logits.double()]  # double: a class whose softmax underflows everywhere gives 0 * log 0
    mean, _ = metric.compute()
    return float(mean)


def _knn_radii(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    """Distance from each point to its k-th nearest neighbour in x (itself excluded)."""
    radii = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # the 1st smallest is the point itself (0)
    return torch.cat(radii)


def _coverage(ref: torch.Tensor, radii: torch.Tensor, query: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """For each query point: is it inside at least one ball (ref_i, radii_i)?"""
    inside = []
    for i in range(0, len(query), chunk):
        d = torch.cdist(query[i:i + chunk], ref)
        inside.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al. (2019): precision = share of fake points inside the real manifold (union
    of k-NN balls around real points); recall = share of real points inside the fake manifold.

    The k-NN radii shrink as a set grows, so values are comparable only between evaluations at the
    same set sizes; the paper uses equal sizes."""
    if k < 1 or k >= min(len(real), len(fake)):
        raise ValueError(f"k must be between 1 and the smaller set size - 1, got k={k} with "
                         f"{len(real)} real and {len(fake)} fake points")
    real, fake = real.float(), fake.float()
    precision = _coverage(real, _knn_radii(real, k), fake).float().mean().item()
    recall = _coverage(fake, _knn_radii(fake, k), real).float().mean().item()
    return precision, recall


def score(images, classifier: LoadedClassifier | None = None, data_root=None, seed: int = 0, k: int = 3) -> dict:
    """All classifier-feature metrics of ``images`` against the MNIST test set.

    FID and KID use all 10,000 test images; precision/recall use a seeded random subset of the test
    set of the same size as ``images`` (equal sizes, as in the paper; k is lowered to n - 1 only for
    sets of 3 images or fewer). Every score depends on n: compare scores only at equal n.
    """
    imgs = as_uint8_images(images)
    classifier = classifier or load_classifier()
    ref = reference_features(classifier, data_root)
    feats = ClassifierFeatures(classifier.model)(imgs)
    logits = ClassifierFeatures(classifier.model, "logits")(imgs)
    scores = feature_scores(ref["features"], feats, classifier.model, seed=seed, k=k)
    return {"fid": scores["fid"], "kid": scores["kid"], "kid_std": scores["kid_std"],
            "is": inception_score_from_logits(logits, classifier.model),
            "precision": scores["precision"], "recall": scores["recall"], "n": len(imgs)}


def reference_subset(real: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """The ``n`` reference points that precision and recall compare a set of ``n`` with, for ``seed``:
    the first ``n`` of a seeded random permutation of ``real`` (so subset ``seed`` is the same for every
    set of samples scored with that seed)."""
    if not 1 <= n <= len(real):
        raise ValueError(f"a reference subset needs 1 <= n <= {len(real)} (the reference points), got n={n}")
    return real[torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[:n]]


def feature_scores(real: torch.Tensor, fake: torch.Tensor, module: nn.Module, seed: int = 0, k: int = 3) -> dict:
    """FID and KID of ``fake`` features against all ``real`` ones, and precision and recall against a
    seeded random subset of ``real`` as large as ``fake`` (equal sizes, as in the paper; all of ``real``
    when it is the smaller; k lowered only for sets of 3 or fewer), where ``module`` is the feature module
    both come from."""
    real_sub = reference_subset(real, min(len(fake), len(real)), seed)
    kid_mean, kid_std = kid_from_features(real, fake, module, seed=seed)
    precision, recall = precision_recall(real_sub, fake, k=min(k, len(fake) - 1, len(real_sub) - 1))
    return {"fid": fid_from_features(real, fake, module), "kid": kid_mean, "kid_std": kid_std,
            "precision": precision, "recall": recall}


# ----------------------------------------------------------------------------- restorations

#: The arrays of a ``lib.restore`` file, in Table 1's order after the originals.
RESTORATION_ROWS = ("degraded", "direct", "alg1", "alg2")


def _unit(images) -> torch.Tensor:
    """uint8 (N, H, W) or (N, 1, H, W) -> float64 (N, 1, H, W) in [0, 1]."""
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.detach().cpu()
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.dtype != torch.uint8:
        raise ValueError(f"images must be uint8 arrays of shape (N, H, W), got {x.dtype} {tuple(x.shape)}")
    return x.double() / 255.0


def ssim(a, b, window: int = 11, sigma: float = 1.5) -> float:
    """Mean SSIM (Wang et al. 2004) of two uint8 image sets, computed as Cold Diffusion's Table 1 code
    computes it (pytorch_msssim.ssim with data_range 1, size_average): images in [0, 1], an 11-tap
    Gaussian window of sigma 1.5 applied separably without padding (the SSIM map covers only the
    valid region), K1 = 0.01, K2 = 0.03, then the mean over every map pixel of every image."""
    x, y = _unit(a), _unit(b)
    if x.shape != y.shape:
        raise ValueError(f"SSIM compares image sets of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[2:]) < window:
        raise ValueError(f"images of {tuple(x.shape[2:])} pixels are smaller than the {window}-pixel SSIM window")
    c = torch.arange(window, dtype=torch.float64) - window // 2
    g = torch.exp(-c**2 / (2 * sigma**2))
    g = g / g.sum()

    def filt(z):
        z = torch.nn.functional.conv2d(z, g.reshape(1, 1, 1, -1))
        return torch.nn.functional.conv2d(z, g.reshape(1, 1, -1, 1))

    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = filt(x), filt(y)
    var_x, var_y = filt(x * x) - mu_x**2, filt(y * y) - mu_y**2
    cov = filt(x * y) - mu_x * mu_y
    cs = (2 * cov + c2) / (var_x + var_y + c2)
    return float(((2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs).mean())


def rmse(a, b) -> float:
    """Root mean squared error of two uint8 image sets in [0, 1], pooled over every pixel of every
    image (sqrt of one mean, as in Cold Diffusion's Table 1 code; not a mean of per-image RMSEs)."""
    x, y = _unit(a), _unit(b)
    if x.shape != y.shape:
        raise ValueError(f"RMSE compares image sets of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    return float(((x - y) ** 2).mean().sqrt())


def restoration_scores(arrays: dict) -> dict:
    """SSIM and RMSE of each restoration row (:data:`RESTORATION_ROWS`) against ``original``."""
    return {row: {"ssim": ssim(arrays["original"], arrays[row]), "rmse": rmse(arrays["original"], arrays[row])}
            for row in RESTORATION_ROWS if row in arrays}


# ----------------------------------------------------------------------------- sample files

def load_npz_samples(path: str | os.PathLike) -> tuple[np.ndarray, str]:
    """The ``images`` array of a ``lib.sample`` file and the data set it names (MNIST for a file
    without ``dataset``, written before other data sets), with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: '{path}'")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            images = f["images"] if "images" in names else None
            dataset = str(f["dataset"]) if "dataset" in names else CLASSIFIER_DATASET
    except Exception as exc:
        raise ValueError(f"'{path}' is not a readable .npz file ({type(exc).__name__}); "
                         f"write one with python -m lib.sample") from None
    if images is None:
        raise ValueError(f"'{path}' has no 'images' array (it holds {sorted(names)}); write one with python -m lib.sample")
    return images, dataset


def load_npz_images(path: str | os.PathLike) -> torch.Tensor:
    """The ``images`` of a ``lib.sample`` file of MNIST digits as uint8 (N, 1, 28, 28), with a clear
    error for anything else (samples of another data set included: :func:`lib.inception.dataset_scores`
    scores those)."""
    images, dataset = load_npz_samples(path)
    check_scorable(dataset, f"'{path}'")
    return as_uint8_images(images)


def load_npz_restorations(path: str | os.PathLike) -> dict | None:
    """The uint8 arrays of a ``lib.restore`` file (``original`` and the rows of
    :data:`RESTORATION_ROWS` it holds), or None for a file without ``original`` (a sample file)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: '{path}'")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "original" not in f.files:
                return None
            arrays = {k: f[k] for k in ("original", *RESTORATION_ROWS) if k in f.files}
    except Exception as exc:
        raise ValueError(f"'{path}' is not a readable .npz file ({type(exc).__name__})") from None
    shapes = {k: v.shape for k, v in arrays.items()}
    if len(set(shapes.values())) != 1 or any(v.dtype != np.uint8 or v.ndim != 3 for v in arrays.values()):
        raise ValueError(f"'{path}': the restoration arrays must be uint8 (N, H, W) of one shape, got {shapes}; "
                         f"write one with python -m lib.restore")
    return arrays


if __name__ == "__main__":
    import sys

    from . import cli
    from .cli import metrics

    sys.exit(cli.run(metrics.main, prog="python -m lib.metrics"))
