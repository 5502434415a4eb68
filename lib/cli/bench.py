"""Benchmark: ``python -m lib.bench`` prints one JSON line of speeds measured on this machine, on
synthetic data (no MNIST needed).

For each configuration (``--configs``, default: the coursework CNN and the U-Net): training images/s
through the library's :func:`lib.training.train_step` and through a plain PyTorch loop of the same
network (a dozen lines below, no library code), measured alternately; the FLOPs of one training step
(``torch.utils.flop_counter``) and the GFLOP/s each achieves; sampling image-steps/s of
:func:`lib.sampling.sample` against a plain loop; sampling speed against the batch size; peak memory
of training and sampling; and this machine's fp32 and bf16 matrix-product peak, for scale.

``python -m lib.bench --quality MINUTES CONFIG`` measures time to quality instead (:mod:`lib.quality`):
it trains CONFIG until its training steps have taken MINUTES (in ``--out``, resumable: run it again
to continue an interrupted run, or with more minutes to extend it), draws ``--n`` samples (1,000 by
default) and prints their classifier FID, KID, IS, precision and recall beside the FID of as many
held-out real digits, as one JSON line. A class-conditional CONFIG is asked for each digit in turn, at
guidance weight ``--guidance`` (default 1), and the line adds the share drawn as the digit asked for.
It needs MNIST (``--data``) and the book's classifier.
"""
from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from .. import cli
from ..configs import get_config
from ..precision import autocast, resolve_precision
from ..sampling import sample
from ..training import train_step


def matmul_gflops(dtype: torch.dtype, n: int = 1024, seconds: float = 1.0) -> float:
    """GFLOP/s of n x n matrix products in ``dtype``, repeated for about ``seconds`` (at least once).
    Where the CPU has no bf16 instructions, bf16 is emulated and runs about 100x slower than fp32."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    t0, repeats = time.perf_counter(), 0
    while repeats == 0 or time.perf_counter() - t0 < seconds:
        a @ b
        repeats += 1
    return 2 * n**3 * repeats / (time.perf_counter() - t0) / 1e9


def _setup(config, batch):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = config.make_network()
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(batch, 1, 28, 28, generator=g) * 2 - 1
    return model, torch.optim.Adam(model.parameters(), lr=config.lr), g, x0


def library_train_rate(config, precision, batch, steps) -> float:
    model, opt, g, x0 = _setup(config, batch)
    process = config.make_process()
    for i in range(steps + 2):
        if i == 2:
            t0 = time.perf_counter()
        train_step(model, opt, process, x0, g, config.loss, precision)
    return batch * steps / (time.perf_counter() - t0)


def plain_train_rate(config, precision, batch, steps) -> float:
    """The same training step written out in plain PyTorch (DDPM, MSE on the noise)."""
    model, opt, g, x0 = _setup(config, batch)
    T = config.T
    alpha_bar = torch.cumprod(1 - config.make_schedule().betas[1:], 0).float()
    for i in range(steps + 2):
        if i == 2:
            t0 = time.perf_counter()
        t = torch.randint(1, T + 1, (batch,), generator=g)
        eps = torch.randn(x0.shape, generator=g)
        a = alpha_bar[t - 1].view(-1, 1, 1, 1)
        z = a.sqrt() * x0 + (1 - a).sqrt() * eps
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(z, t.float() / T)
        loss = F.mse_loss(out.float(), eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()
    return batch * steps / (time.perf_counter() - t0)


def train_flops_per_image(config, precision, batch) -> float:
    model, opt, g, x0 = _setup(config, batch)
    with FlopCounterMode(display=False) as counter:
        train_step(model, opt, config.make_process(), x0, g, config.loss, precision)
    return counter.get_total_flops() / batch


@torch.no_grad()
def library_sample_rate(config, precision, batch, steps) -> float:
    model = _setup(config, 1)[0].eval()
    process = config.make_process()
    g = torch.Generator().manual_seed(0)
    sample(model, process, (batch, 1, 28, 28), g, steps=2, precision=precision)  # warm-up
    t0 = time.perf_counter()
    sample(model, process, (batch, 1, 28, 28), g, steps=steps, precision=precision)
    return batch * steps / (time.perf_counter() - t0)


@torch.no_grad()
def plain_sample_rate(config, precision, batch, steps) -> float:
    """Ancestral sampling over ``steps`` consecutive timesteps, written out in plain PyTorch."""
    model = _setup(config, 1)[0].eval()
    s = config.make_schedule()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(batch, 1, 28, 28, generator=g)
    t0 = None
    for i, t in enumerate(range(config.T, config.T - steps - 2, -1)):
        if i == 2:
            t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            eps = model(z, torch.full((batch,), t / config.T)).float()
        beta, abar = float(s.betas[t]), float(s.alpha_bar[t])
        z = (z - beta / (1 - abar) ** 0.5 * eps) / (1 - beta) ** 0.5 + beta**0.5 * torch.randn(z.shape, generator=g)
    return batch * steps / (time.perf_counter() - t0)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset the peak resident set size (VmHWM)
        return True
    except OSError:
        return False


def _peak_mib() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def peak_memory(fn) -> float | None:
    """Peak resident memory (MiB) of the process while ``fn`` runs (None where it cannot be reset)."""
    if not _reset_peak():
        return None
    fn()
    return _peak_mib()


def quality_main(p, a) -> int:
    from ..configs import CONFIGS
    from ..quality import quality, train_for_minutes

    minutes_text, name = a.quality
    try:
        minutes = float(minutes_text)
    except ValueError:
        p.error(f"--quality takes MINUTES then CONFIG, e.g. --quality 30 unet; {minutes_text!r} is not a number")
    if not minutes > 0 or minutes != minutes or minutes == float("inf"):
        p.error(f"--quality MINUTES must be a positive number, got {minutes_text}")
    if name not in CONFIGS:
        p.error(f"unknown configuration {name!r}; choose one of {', '.join(sorted(CONFIGS))}")
    if a.n < 2:
        p.error(f"--n must be >= 2, got {a.n}")
    if a.limit is not None and a.limit < 1:
        p.error(f"--limit must be >= 1, got {a.limit}")
    out = Path(a.out or f"runs/quality-{name}-{minutes_text}min")
    if a.guidance is not None and CONFIGS[name].num_classes is None:
        p.error(f"--guidance needs a class-conditional configuration; {name!r} is unconditional")
    if a.guidance is not None and not 0 <= a.guidance < float("inf"):
        p.error(f"--guidance must be a finite number >= 0 (0: the label dropped, 1: the plain conditional model), "
                f"got {a.guidance}")
    ckpt = train_for_minutes(name, minutes, out, data_root=a.data, progress=not a.no_progress, train_limit=a.limit,
                             log=lambda m: print(m, file=sys.stderr))
    result = quality(ckpt, n=a.n, seed=a.seed, steps=a.sampler_steps, step=a.sampler, data_root=a.data,
                     progress=not a.no_progress, guidance=a.guidance)
    result.update(budget_minutes=minutes, checkpoint=str(ckpt))
    print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.bench", description=__doc__.split("\n")[0])
    p.add_argument("--configs", default="default,unet", help="comma-separated named configurations")
    p.add_argument("--batch", type=int, default=128, help="training batch (default 128)")
    p.add_argument("--steps", type=int, default=20, help="timed training steps per measurement")
    p.add_argument("--rounds", type=int, default=3, help="alternating library/plain measurements (median)")
    p.add_argument("--sample-steps", type=int, default=20, help="timed sampling steps per measurement")
    p.add_argument("--sample-batches", default="16,64,128,256,512", help="batch sizes of the sampling sweep")
    p.add_argument("--matmul-size", type=int, default=1024, help="n of the n x n matrix products (default 1024)")
    q = p.add_argument_group("time to quality (--quality MINUTES CONFIG)")
    q.add_argument("--quality", nargs=2, metavar=("MINUTES", "CONFIG"),
                   help="train CONFIG for MINUTES of training steps, then score --n samples")
    q.add_argument("--out", help="run folder of --quality (default: runs/quality-CONFIG-MINUTESmin); an existing "
                   "run there is resumed")
    q.add_argument("--n", type=int, default=1000, help="samples scored, and held-out digits for the floor (default 1000)")
    q.add_argument("--sampler", help="sampler step, ddpm or ddim, or a sampler of lib.sweep_samplers such as "
                   "ddpm-posterior (default: the process's: ddpm ancestral for noise)")
    q.add_argument("--sampler-steps", type=int, help="respaced sampling steps (default: all T)")
    q.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    q.add_argument("--guidance", type=float, help="class-conditional CONFIG: guidance weight of its samples, "
                   "n / 10 of each digit (default 1: the plain conditional model; 0 drops the label)")
    q.add_argument("--data", help="MNIST root, relative to the current folder (default: $DIFFUSION_BOOK_DATA)")
    q.add_argument("--limit", type=int, help="train on the first N training images only")
    q.add_argument("--no-progress", action="store_true", help="no progress bars")
    a = p.parse_args(argv)
    if a.quality:
        return quality_main(p, a)
    if min(a.batch, a.steps, a.rounds, a.sample_steps) < 1:
        p.error("--batch, --steps, --rounds and --sample-steps must be >= 1")
    batches = [int(b) for b in a.sample_batches.split(",")]
    result = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "batch": a.batch,
              "matmul_gflops_fp32": round(matmul_gflops(torch.float32, a.matmul_size), 1),
              "matmul_gflops_bf16": round(matmul_gflops(torch.bfloat16, a.matmul_size), 1), "configs": {}}
    for name in a.configs.split(","):
        config = get_config(name)
        precision = resolve_precision(config.precision)
        lib_rates, plain_rates = [], []
        for _ in range(a.rounds):
            lib_rates.append(library_train_rate(config, precision, a.batch, a.steps))
            plain_rates.append(plain_train_rate(config, precision, a.batch, a.steps))
        lib_rate, plain_rate = statistics.median(lib_rates), statistics.median(plain_rates)
        flops = train_flops_per_image(config, precision, a.batch)
        lib_s = library_sample_rate(config, precision, 256, a.sample_steps)
        plain_s = plain_sample_rate(config, precision, 256, a.sample_steps)
        result["configs"][name] = {
            "network": config.network, "precision": precision,
            "train_images_per_s_library": round(lib_rate, 1),
            "train_images_per_s_plain": round(plain_rate, 1),
            "library_over_plain_train": round(lib_rate / plain_rate, 3),
            "train_gflop_per_image": round(flops / 1e9, 4),
            "train_gflops_library": round(flops * lib_rate / 1e9, 1),
            "train_gflops_plain": round(flops * plain_rate / 1e9, 1),
            "sample_image_steps_per_s_library": round(lib_s, 1),
            "sample_image_steps_per_s_plain": round(plain_s, 1),
            "library_over_plain_sample": round(lib_s / plain_s, 3),
            "sample_image_steps_per_s_by_batch": {
                b: round(library_sample_rate(config, precision, b, a.sample_steps), 1) for b in batches},
            "peak_mib_train": peak_memory(lambda: library_train_rate(config, precision, a.batch, 3)),
            "peak_mib_sample_256": peak_memory(lambda: library_sample_rate(config, precision, 256, 3)),
        }
    print(json.dumps(result))
    return 0
