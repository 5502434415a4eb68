"""Classifier features against InceptionV3 features: FID of sets of known quality under both.

``python -m lib.feature_compare --inception-weights PATH [--samples FILE.npz] [--n 500]``
scores the probe sets of :func:`lib.probes.probe_sets` (and, with ``--samples``, a file written by
``python -m lib.sample``) against the first ``--reference`` MNIST test digits, once with the MNIST
classifier's features and once with InceptionV3's, and writes a JSON record (by default
``results/feature_comparison.json``, which chapter 2 reads on machines without the weights).

InceptionV3 runs at 299 x 299 pixels: a few images per second per CPU core, so the defaults (500
images per set, 1,000 reference digits) take about half an hour on two cores. Features are cached
on disk, so an interrupted run loses only the set it was computing.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from .. import cli, config, inception, metrics
from ..checkpoints import save_json_atomically
from ..classifier import load_classifier
from ..data import load_mnist, to_uint8
from ..probes import probe_sets

#: Where the comparison is stored in the repository.
DEFAULT_OUT = config.RESULTS_DIR / "feature_comparison.json"
#: The probe sets compared (the others add nothing to the comparison: see chapter 2).
SETS = ("real (held-out digits)", "uniform noise", "blurred, sigma 1", "blurred, sigma 2", "mirrored",
        "thick strokes", "ones only")
#: The name the model's samples get in the record.
MODEL_SET = "model samples"


def compare(weights_path, n: int = 500, reference: int = 1000, samples=None, data_root=None,
            classifier=None, progress: bool = True, sets=SETS) -> dict:
    """FID of each set under both feature maps, against the same ``reference`` test digits."""
    if n < 2 or reference < 2:
        raise ValueError(f"n and reference must be at least 2, got n={n}, reference={reference}")
    inception_module, weights_sha = inception.load_inception(weights_path)  # fails early and clearly without weights
    classifier = classifier or load_classifier()
    test = to_uint8(load_mnist("test", root=data_root).images)
    if reference > len(test):
        raise ValueError(f"--reference {reference} exceeds the {len(test)} test digits")
    ref = test[:reference]
    candidates = probe_sets(n, data_root, names=sets)
    record = {"n": n, "reference": reference, "weights_sha256": weights_sha,
              "weights_file": Path(weights_path).name, "inception_features_version": inception.FEATURES_VERSION,
              "classifier_sha256": classifier.sha256, "sets": {}}
    if samples is not None:
        images = metrics.load_npz_images(samples)
        if len(images) < n:
            raise ValueError(f"'{samples}' holds {len(images)} images, fewer than n={n}")
        candidates[MODEL_SET] = images[:n]
        with np.load(samples, allow_pickle=False) as f:
            record["samples"] = {"file": str(samples), "epoch": int(f["epoch"]) if "epoch" in f.files else None,
                                 "seed": int(f["seed"]) if "seed" in f.files else None,
                                 "checkpoint": str(f["checkpoint"]) if "checkpoint" in f.files else None}
    clf = metrics.ClassifierFeatures(classifier.model)
    fid_classifier = metrics.fid_of_sets(clf(ref), candidates, clf, classifier.model)

    def inc(images):
        return inception.inception_features(images, weights_path, progress=progress)

    fid_inception = metrics.fid_of_sets(inc(ref), candidates, inc, inception_module)
    record["sets"] = {name: {"fid_classifier": fid_classifier[name], "fid_inception": fid_inception[name]}
                      for name in candidates}
    return record


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.feature_compare", description=__doc__.split("\n")[0])
    p.add_argument("--inception-weights", default=os.environ.get("DIFFUSION_BOOK_INCEPTION_WEIGHTS"),
                   help="InceptionV3 weights file (default: $DIFFUSION_BOOK_INCEPTION_WEIGHTS)")
    p.add_argument("--samples", help="an .npz written by python -m lib.sample, scored as a further set")
    p.add_argument("--n", type=int, default=500, help="images per set (default 500)")
    p.add_argument("--reference", type=int, default=1000, help="test digits in the reference set (default 1000)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"JSON file to write (default {DEFAULT_OUT})")
    p.add_argument("--data", help="MNIST root")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    start = time.time()
    record = compare(a.inception_weights, n=a.n, reference=a.reference, samples=a.samples, data_root=a.data,
                     progress=not a.no_progress)
    record["seconds"] = round(time.time() - start, 1)
    record["command"] = "python -m lib.feature_compare " + " ".join(
        arg for arg in (argv if argv is not None else sys.argv[1:]))
    out = save_json_atomically(record, a.out)
    for name, s in record["sets"].items():
        print(f"{name:<24} FID classifier {s['fid_classifier']:10.2f}   FID InceptionV3 {s['fid_inception']:10.2f}")
    print(f"wrote {out}")
    return 0
