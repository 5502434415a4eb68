"""Train the same configuration from the same seed in fp32 and in bf16 autocast, side by side:
``python -m lib.compare_precision [--epochs E] [--limit N] [--out results/precision_comparison.json]``.

The JSON holds, per precision, the per-iteration and per-epoch losses, the seconds per epoch
(including validation and the sample grid) and the final 16-sample grid from the same noise, plus
scores of fresh samples with ``--metric-samples``; chapter 1 plots it. It is the evidence behind making bf16 the
default on CPUs that run it natively.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from .. import cli
from ..config import RESULTS_DIR
from ..configs import get_config
from ..training import train


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.compare_precision", description=__doc__.split("\n")[0])
    p.add_argument("--config", default="default")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--limit", type=int, default=12000, help="training images used (default 12000)")
    p.add_argument("--metric-samples", type=int, default=0,
                   help="also score this many samples per precision at the last epoch (FID, IS, ...; "
                        "needs the shipped classifier); default 0: off")
    p.add_argument("--data", help="MNIST root")
    p.add_argument("--out", default=str(RESULTS_DIR / "precision_comparison.json"))
    a = p.parse_args(argv)
    if a.epochs < 1 or a.limit < 1:
        p.error("--epochs and --limit must be >= 1")
    runs = {}
    work = Path(tempfile.mkdtemp(prefix="precision-"))
    try:
        for precision in ("fp32", "bf16"):
            scoring = dict(metric_epochs=(a.epochs,), metric_samples=a.metric_samples) if a.metric_samples else {}
            config = get_config(a.config, precision=precision, epochs=a.epochs, train_limit=a.limit,
                                val_limit=2000, sample_epochs=(a.epochs,), **scoring)
            h = train(config, work / precision, data_root=a.data)
            runs[precision] = {
                "iter_loss": h["iter_loss"], "train_loss": h["train_loss"], "val_loss": h["val_loss"],
                "epoch_seconds": h["epoch_seconds"],  # includes validation and the sample grid
                "grid": h["grids"][-1].tolist(),
            }
            if h.get("metrics"):
                runs[precision]["metrics"] = h["metrics"][-1]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"config": a.config, "epochs": a.epochs, "train_images": a.limit, "seed": get_config(a.config).seed,
              "command": "python -m lib.compare_precision " + " ".join(argv if argv is not None else sys.argv[1:]),
              "runs": runs}
    out.write_text(json.dumps(record))
    for k, r in runs.items():
        print(f"{k}: final train {r['train_loss'][-1]:.4f}, val {r['val_loss'][-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m lib.compare_precision"))
