"""Score one model under several samplers and numbers of steps (chapter 5's fast sampling):
``python -m lib.sweep_samplers RUN --samplers ddpm,ddim-eta0 --steps 1000,100,10 --n 1000 --out FILE.json``.

Every (sampler, steps) pair is written to the record as soon as it is scored, so the command can be
stopped and run again: it scores only what is missing. All pairs sample from the same seed.
"""
from __future__ import annotations

import sys

from .. import cli
from ..sampler_sweep import SAMPLERS, sweep_samplers


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.sweep_samplers", description=__doc__.split("\n")[0])
    p.add_argument("run", help="a DDPM run's checkpoint.pt, or its folder")
    p.add_argument("--samplers", default=",".join(SAMPLERS), help=f"comma-separated, of {', '.join(SAMPLERS)}")
    p.add_argument("--steps", default="1000,250,100,50,20,10,5", help="comma-separated numbers of sampling steps")
    p.add_argument("--n", type=int, default=1000, help="samples per pair (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed, the same for every pair (default 0)")
    p.add_argument("--weights", choices=("auto", "raw", "ema"), default="auto", help="EMA or raw weights")
    cli.add_record_arguments(p)
    a = p.parse_args(argv)
    samplers = a.samplers.split(",")
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        p.error(f"unknown sampler(s) {', '.join(unknown)}; choose from {', '.join(SAMPLERS)}")
    steps = cli.comma_list(p, "--steps", a.steps)
    if a.n < 2:
        p.error(f"--n must be >= 2, got {a.n}")
    record = sweep_samplers(a.run, a.out, samplers, steps, n=a.n, seed=a.seed, weights=a.weights, data_root=a.data,
                            progress=not a.no_progress, log=lambda m: print(m, file=sys.stderr), device=a.device)
    print(f"{len(record['entries'])} scored (sampler, steps) pairs of '{record['run']}' in {a.out}")
    return 0
