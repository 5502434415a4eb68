"""Draw samples from a checkpoint: ``python -m lib.sample CHECKPOINT --n N --seed S --out FILE.npz``
[--sampler ddpm|ddim] [--steps K] [--eta E] [--sigma beta|posterior|zero] [--label L --guidance W].

For a cold-diffusion checkpoint (blur, average, downsample) the start is drawn from the run's fitted
start distribution plus ``--start-noise`` (default: the run's own; 0 gives one sample per start).

The ``.npz`` file holds ``images``: uint8, the model's [-1, 1] output clamped and scaled to 0..255, of
shape (N, H, W) for a grey data set (MNIST: 28 x 28 unless the run was trained at another
``image_size``; 0 = black background, 255 = white ink) and (N, H, W, 3) for a colour one (RGB,
channels last, as matplotlib and PIL read them), plus ``dataset``, ``seed``, ``checkpoint``,
``epoch``, ``sampler``, ``steps`` and, for a conditional model, ``labels``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from .. import cli
from ..data import to_image_array
from ..diffusion import SIGMAS
from ..runs import load_trained
from ..sampling import SAMPLE_BATCH, sample_images


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.sample", description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help="a checkpoint.pt written by lib.train (or its folder)")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--seed", type=int, required=True, help="seed of the sampler's torch.Generator")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--sampler", help="sampler step: ddpm (ancestral) or ddim for DDPM models, alg1 or alg2 for "
                   "cold ones (default: the process's own: ddpm, alg2)")
    p.add_argument("--steps", type=int, help="number of sampling steps, evenly respaced (default: all T)")
    p.add_argument("--eta", type=float, help="DDIM's noise scale in [0, 1] (default 0: deterministic)")
    p.add_argument("--sigma", choices=SIGMAS, help="reverse variance of the ddpm sampler (default: beta)")
    p.add_argument("--label", type=int, help="class to draw, e.g. a digit (conditional models only)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance weight w (default 1: the plain "
                   "conditional model; 0: unconditional; > 1: stronger guidance)")
    p.add_argument("--start-noise", type=float, help="cold runs: std of the noise added to the start "
                   "(default: the run's)")
    cli.add_weights_arguments(p, SAMPLE_BATCH)
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), help="default: the checkpoint's")
    cli.add_device_argument(p, "where the samples are drawn")
    a = p.parse_args(argv)
    cli.check_count_batch_out(p, a)
    if a.guidance is not None and a.label is None:
        p.error("--guidance needs --label (it weighs the labelled prediction against the unlabelled one)")
    loaded = load_trained(a.checkpoint, epoch=a.epoch, weights=a.weights)
    process, model = loaded.process, loaded.model.to(a.device)
    step = a.sampler or process.default_step
    if step not in process.steps:
        p.error(f"this checkpoint's {loaded.config.process} process has no sampler {step!r}; "
                f"choose one of {', '.join(sorted(process.steps))}")
    options = {}
    if a.eta is not None:
        if step != "ddim":
            p.error("--eta applies to --sampler ddim only")
        options["eta"] = a.eta
    if a.sigma is not None:
        if step != "ddpm":
            p.error("--sigma applies to --sampler ddpm only")
        options["sigma_kind"] = a.sigma
    if a.steps is not None and not 1 <= a.steps <= process.T:
        p.error(f"--steps must lie in 1..{process.T} (the model's T), got {a.steps}")
    if a.start_noise is not None:
        if not hasattr(process, "start_noise"):
            p.error("--start-noise applies to cold-diffusion checkpoints only (DDPM starts from pure noise)")
        if a.start_noise < 0:
            p.error(f"--start-noise must be >= 0, got {a.start_noise}")
        process.start_noise = a.start_noise
    n_classes = loaded.config.num_classes
    if a.label is not None:
        if n_classes is None:
            p.error(f"--label needs a conditional model; '{a.checkpoint}' was trained without labels")
        if not 0 <= a.label < n_classes:
            p.error(f"--label must lie in 0..{n_classes - 1}, got {a.label}")
    precision = a.precision or loaded.config.precision
    g = torch.Generator().manual_seed(a.seed)
    x = sample_images(model, process, a.n, g, image_shape=loaded.config.image_shape, batch_size=a.batch,
                      step=step, steps=a.steps, label=a.label,
                      guidance=1.0 if a.guidance is None else a.guidance, precision=precision, device=a.device,
                      progress=sys.stderr.isatty(), **options)
    images = to_image_array(x).numpy()
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = {} if a.label is None else {"labels": np.full(a.n, a.label), "guidance": a.guidance or 1.0}
    np.savez_compressed(out, images=images, dataset=loaded.config.dataset, seed=a.seed, checkpoint=str(a.checkpoint),
                        epoch=loaded.epoch, sampler=step, steps=a.steps or process.T, weights=loaded.weights, **extra)
    print(f"wrote {images.shape[0]} samples to {out}")
    return 0
