"""``python -m lib.classifier``: train the MNIST classifier of :mod:`lib.classifier` and save it with
its test accuracy, seed and command."""
from __future__ import annotations

import sys

from .. import cli, classifier
from ..classifier import SHIPPED_CLASSIFIER, save_classifier, train_classifier


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.classifier", description=classifier.__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(SHIPPED_CLASSIFIER))
    p.add_argument("--data", help="MNIST root")
    p.add_argument("--limit", type=int, help="use only the first N images of each split (quick checks)")
    a = p.parse_args(argv)
    if a.epochs < 1:
        p.error(f"--epochs must be >= 1, got {a.epochs}")
    model, record = train_classifier(a.epochs, a.seed, data_root=a.data, limit=a.limit)
    record["command"] = "python -m lib.classifier " + " ".join(argv if argv is not None else sys.argv[1:])
    save_classifier(model, record, a.out)
    print(f"test accuracy {record['test_accuracy']:.4f} (validation {record['val_accuracy']:.4f}) -> {a.out}")
    return 0
