"""Benchmark: ``python -m lib.bench`` prints one JSON line with training images/s (fp32 and the
default precision) and sampling steps/s, all at batch 128, on synthetic data (no MNIST needed)."""
from __future__ import annotations

import json
import platform
import sys
import time

import torch

from . import cli, diffusion
from .precision import resolve_precision
from .training import get_config


def _train_rate(config, precision, batch, steps, warmup=3) -> float:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = config.make_model()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = config.make_schedule()
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        loss = diffusion.training_loss(model, schedule, x0, g, config.loss, precision)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return batch * steps / (time.perf_counter() - t0)


@torch.no_grad()
def _sample_rate(config, precision, batch, steps) -> float:
    model = config.make_model().eval()
    z = torch.randn(batch, 1, 28, 28)
    t = torch.full((batch,), 0.5)
    from .precision import autocast
    for i in range(2 + steps):
        if i == 2:
            t0 = time.perf_counter()
        with autocast(precision):
            model(z, t)
    return steps / (time.perf_counter() - t0)


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.bench", description=__doc__.split("\n")[0])
    p.add_argument("--config", default="default")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=30, help="timed training steps per precision")
    a = p.parse_args(argv)
    if a.batch < 1 or a.steps < 1:
        p.error("--batch and --steps must be >= 1")
    config = get_config(a.config)
    default = resolve_precision(config.precision)
    result = {
        "config": config.name, "batch": a.batch, "threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
        "default_precision": default,
        "train_images_per_s_fp32": round(_train_rate(config, "fp32", a.batch, a.steps), 1),
    }
    result["train_images_per_s_default"] = (
        result["train_images_per_s_fp32"] if default == "fp32"
        else round(_train_rate(config, default, a.batch, a.steps), 1))
    # One sampling step = one network evaluation on the whole batch (the sampler's arithmetic is negligible).
    result["sample_steps_per_s_default"] = round(_sample_rate(config, default, a.batch, a.steps), 2)
    result["sample_image_steps_per_s_default"] = round(result["sample_steps_per_s_default"] * a.batch, 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run(main, prog="python -m lib.bench"))
