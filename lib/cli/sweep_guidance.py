"""Score a class-conditional model at several classifier-free guidance weights (chapter 5's conditioning):
``python -m lib.sweep_guidance RUN --weights 0,1,2,3,5 --n 1000 --out FILE.json``.

Samples ask for the digits 0..9 in turn; every weight samples from the same seed. Each weight is written to
the record as soon as it is scored, so the command can be stopped and run again: it scores only what is
missing. w = 0 is the unconditional model, w = 1 the plain conditional one, w > 1 guided.
"""
from __future__ import annotations

import sys

from .. import cli
from ..guidance import guidance_sweep
from ..sampler_sweep import SAMPLERS


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.sweep_guidance", description=__doc__.split("\n")[0])
    p.add_argument("run", help="a class-conditional run's checkpoint.pt, or its folder")
    p.add_argument("--weights", default="0,1,2,3,5", help="comma-separated guidance weights (default 0,1,2,3,5)")
    p.add_argument("--n", type=int, default=1000, help="samples per weight (default 1000: 100 of each digit)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed, the same for every weight (default 0)")
    p.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm", *SAMPLERS],
                   help="ddim (eta 0, the default), ddpm (sigma^2 = beta), or a sampler of python -m lib.sweep_samplers")
    p.add_argument("--steps", type=int, default=100, help="respaced sampling steps (default 100)")
    cli.add_record_arguments(p)
    a = p.parse_args(argv)
    weights = cli.comma_list(p, "--weights", a.weights, float)
    if a.n < 2:
        p.error(f"--n must be >= 2, got {a.n}")
    if a.steps < 1:
        p.error(f"--steps must be >= 1, got {a.steps}")
    record = guidance_sweep(a.run, a.out, weights, n=a.n, seed=a.seed, step=a.sampler, steps=a.steps,
                            data_root=a.data, progress=not a.no_progress, log=lambda m: print(m, file=sys.stderr),
                            device=a.device)
    print(f"{len(record['entries'])} scored guidance weights of '{record['run']}' in {a.out}")
    return 0
