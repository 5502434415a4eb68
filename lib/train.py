"""Train a named configuration: ``python -m lib.train CONFIG [--epochs N] [--out DIR] [--resume]``.

Writes ``DIR/checkpoint.pt`` after every epoch (default DIR: ``runs/CONFIG``). ``--resume``
continues a stopped run exactly; ``--epochs`` may raise the target to extend a finished one.
"""
from __future__ import annotations

import sys
from pathlib import Path

from . import cli
from .config import short_mode
from .training import CHECKPOINT_NAME, CONFIGS, TrainConfig, get_config, read_checkpoint, train

SHORT_TRAIN_LIMIT, SHORT_VAL_LIMIT = 2048, 512


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.train", description=__doc__.split("\n")[0])
    p.add_argument("config", help=f"named configuration: {', '.join(sorted(CONFIGS))}")
    p.add_argument("--epochs", type=int, help="target number of epochs (default: the configuration's)")
    p.add_argument("--out", help="output folder (default: runs/CONFIG)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), help="network precision (default: auto)")
    p.add_argument("--limit", type=int, help="train on the first N images only (validation: N/4)")
    p.add_argument("--metric-epochs", help="comma-separated epochs at which to score samples with FID/IS/KID "
                   "and precision/recall on the book's classifier, e.g. 1,20,40 (default: none)")
    p.add_argument("--metric-samples", type=int, help="samples scored at those epochs (default 256)")
    p.add_argument("--data", help="MNIST root (default: $DIFFUSION_BOOK_DATA, else a cache folder)")
    p.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    overrides = {}
    if a.epochs is not None:
        if a.epochs < 1:
            p.error(f"--epochs must be >= 1, got {a.epochs}")
        overrides["epochs"] = a.epochs
    if a.precision:
        overrides["precision"] = a.precision
    if a.metric_epochs:
        try:
            overrides["metric_epochs"] = tuple(int(e) for e in a.metric_epochs.split(","))
        except ValueError:
            p.error(f"--metric-epochs must be comma-separated integers, got {a.metric_epochs!r}")
    if a.metric_samples is not None:
        overrides["metric_samples"] = a.metric_samples
    limit = a.limit if a.limit is not None else (SHORT_TRAIN_LIMIT if short_mode() else None)
    if limit is not None:
        if limit < 1:
            p.error(f"--limit must be >= 1, got {limit}")
        overrides.update(train_limit=limit, val_limit=max(1, min(SHORT_VAL_LIMIT, limit // 4)))
    out = a.out or f"runs/{a.config}"
    ckpt = Path(out) / CHECKPOINT_NAME
    if a.resume and a.metric_epochs is None and a.metric_samples is None and ckpt.exists():
        stored = TrainConfig.from_dict(read_checkpoint(ckpt)["config"])  # keep what the run measures
        overrides.update(metric_epochs=stored.metric_epochs, metric_samples=stored.metric_samples)
    config = get_config(a.config, **overrides)
    train(config, out, resume=a.resume, data_root=a.data, device=a.device, progress=not a.no_progress)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m lib.train"))
