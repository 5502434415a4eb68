"""``python -m lib.metrics FILE.npz``: the classifier-feature scores of a file written by ``lib.sample``
(:mod:`lib.metrics`), and with ``--inception-weights`` the standard InceptionV3 FID and IS
(:mod:`lib.inception`), printed as one JSON line. For a file written by ``lib.restore``: SSIM and
RMSE of each restoration against the originals (Cold Diffusion's Table 1), and with
``--inception-weights`` their FID against the originals. Samples of another data set (Fashion-MNIST,
CIFAR-10, FGVC-Aircraft) are scored on InceptionV3 features only, so they need ``--inception-weights``:
FID, KID, precision and recall against that data set's test split."""
from __future__ import annotations

import json
import sys

from .. import cli, metrics
from ..classifier import CLASSIFIER_DATASET, load_classifier
from ..data import dataset_info, load_mnist, to_uint8
from ..inception import MissingWeightsError, dataset_scores, inception_fid, inception_score, load_inception
from ..metrics import (RESTORATION_ROWS, as_uint8_images, load_npz_restorations, load_npz_samples, restoration_scores,
                       score)


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.metrics", description=metrics.__doc__.split("\n")[0])
    p.add_argument("file", help="an .npz with an 'images' array, as written by python -m lib.sample")
    p.add_argument("--n", type=int, help="score only the first N images")
    p.add_argument("--classifier", help="classifier file (default: the shipped one)")
    p.add_argument("--inception-weights", help="also compute the standard InceptionV3 FID with these weights")
    p.add_argument("--data", help="data root (MNIST's, or the other data set's)")
    p.add_argument("--reference", type=int, metavar="N",
                   help="another data set's samples: compare with the first N test images (default: all)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    if a.n is not None and a.n < 2:
        p.error(f"--n must be >= 2, got {a.n}")
    restorations = load_npz_restorations(a.file)
    if restorations is not None:
        return _restoration_report(p, a, restorations)
    images, dataset = load_npz_samples(a.file)
    if a.n is not None:
        if a.n > len(images):
            p.error(f"--n {a.n} exceeds the {len(images)} images in the file")
        images = images[:a.n]
    if dataset != CLASSIFIER_DATASET:
        return _other_dataset_report(p, a, images, dataset)
    if a.reference is not None:
        p.error("--reference is for samples of another data set; MNIST samples are compared with all 10,000 "
                "test digits")
    images = as_uint8_images(images)
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
    _print_rounded(result)
    return 0


def _print_rounded(result: dict) -> None:
    """One JSON line, floats rounded to 6 decimals."""
    print(json.dumps({k: (round(v, 6) if isinstance(v, float) else v) for k, v in result.items()}))


def _restoration_report(p, a, arrays: dict) -> int:
    if a.n is not None:
        if a.n > len(arrays["original"]):
            p.error(f"--n {a.n} exceeds the {len(arrays['original'])} digits in the file")
        arrays = {k: v[:a.n] for k, v in arrays.items()}
    result = restoration_scores(arrays)
    if a.inception_weights is not None:
        load_inception(a.inception_weights)
        for row in RESTORATION_ROWS:
            if row in arrays:
                result[row]["fid_inception"] = inception_fid(arrays[row], arrays["original"], a.inception_weights,
                                                             progress=True)
    result = {row: {k: round(v, 6) for k, v in scores.items()} for row, scores in result.items()}
    print(json.dumps({**result, "n": len(arrays["original"])}))
    return 0


def _other_dataset_report(p, a, images, dataset: str) -> int:
    title = dataset_info(dataset).title
    if a.inception_weights is None:
        p.error(f"'{a.file}' holds {title} samples, which the book's MNIST classifier cannot score; pass "
                f"--inception-weights PATH for FID, KID, precision and recall on InceptionV3 features")
    if a.classifier is not None:
        p.error(f"--classifier reads MNIST digits; '{a.file}' holds {title} samples")
    if a.reference is not None and a.reference < 2:
        p.error(f"--reference must be >= 2 test images, got {a.reference}")
    result = dataset_scores(images, dataset, a.inception_weights, data_root=a.data, reference=a.reference,
                            seed=a.seed, progress=True)
    _print_rounded(result)
    return 0
