"""Restore degraded test digits with a cold checkpoint (Cold Diffusion's Table 1):
``python -m lib.restore CHECKPOINT --n N --out FILE.npz``.

The images are the run's data set's (MNIST digits for the book's runs). The ``.npz`` file holds
uint8 arrays of shape (N, H, W) at the model's resolution, 0 = black ((N, H, W, 3) for a colour data
set, which ``python -m lib.metrics`` does not score): ``original`` (the first N test images),
``degraded`` (D(x, T)), ``direct`` (R(D(x, T), T)), ``alg1``
and ``alg2`` (the two sampling algorithms started from D(x, T)); ``python -m lib.metrics FILE.npz``
reports their SSIM and RMSE against ``original``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .. import cli
from ..data import load_dataset, to_image_array
from ..degradations import ColdProcess
from ..restoration import restore
from ..runs import load_trained
from ..sampling import SAMPLE_BATCH


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.restore", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help="a checkpoint.pt of a cold run (blur, average, downsample), or its folder")
    p.add_argument("--n", type=int, required=True, help="restore the first N test digits")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--split", choices=("test", "val", "train"), default="test", help="digits to restore (default test)")
    cli.add_weights_arguments(p, SAMPLE_BATCH)
    p.add_argument("--data", help="data root (default: $DIFFUSION_BOOK_DATA)")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    cli.check_count_batch_out(p, a)
    loaded = load_trained(a.checkpoint, epoch=a.epoch, weights=a.weights)
    if not isinstance(loaded.process, ColdProcess):
        p.error(f"'{a.checkpoint}' is a {loaded.config.process} run; lib.restore needs a cold degradation "
                f"(use python -m lib.sample for DDPM runs)")
    digits = load_dataset(loaded.config.dataset, a.split, root=a.data, image_size=loaded.config.image_size)
    if a.n > len(digits):
        p.error(f"--n {a.n} exceeds the {len(digits)} digits of the {a.split} split")
    x0 = digits.images[:a.n]
    rows = restore(loaded.model.to(a.device), loaded.process, x0, batch_size=a.batch,
                   precision=loaded.config.precision, device=a.device, progress=sys.stderr.isatty())
    arrays = {"original": to_image_array(x0).numpy(), **{k: to_image_array(v).numpy() for k, v in rows.items()}}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays, checkpoint=str(a.checkpoint), epoch=loaded.epoch, weights=loaded.weights,
                        split=a.split)
    print(f"wrote {a.n} digits and their restorations ({', '.join(rows)}) to {out}")
    return 0
