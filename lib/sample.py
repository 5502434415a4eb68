"""Draw samples from a checkpoint: ``python -m lib.sample CHECKPOINT --n N --seed S --out FILE.npz``.

The ``.npz`` file holds ``images``: uint8, shape (N, 28, 28), 0 = black background, 255 = white ink
(the model's [-1, 1] output clamped and scaled), plus ``seed``, ``checkpoint`` and ``epoch``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from . import cli, diffusion
from .data import to_uint8
from .training import load_trained

BATCH = 256


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.sample", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help="a checkpoint.pt written by lib.train (or its folder)")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--seed", type=int, required=True, help="seed of the sampler's torch.Generator")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--sigma", choices=diffusion.SIGMAS, default="beta", help="reverse variance (default: beta)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), help="default: the checkpoint's")
    p.add_argument("--device", default="cpu")
    a = p.parse_args(argv)
    if a.n < 1:
        p.error(f"--n must be >= 1, got {a.n}")
    if not a.out.endswith(".npz"):
        p.error(f"--out must name a .npz file, got {a.out!r}")
    loaded = load_trained(a.checkpoint)
    model = loaded.model.to(a.device)
    precision = a.precision or loaded.config.precision
    g = torch.Generator().manual_seed(a.seed)
    x = diffusion.sample_images(model, loaded.schedule, a.n, g, batch_size=BATCH, sigma_kind=a.sigma,
                                precision=precision, device=a.device, progress=sys.stderr.isatty())
    images = to_uint8(x)[:, 0].numpy()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, images=images, seed=a.seed, checkpoint=str(a.checkpoint), epoch=loaded.epoch)
    print(f"wrote {images.shape[0]} samples to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m lib.sample"))
