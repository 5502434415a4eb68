"""Score a run's samples at several epochs into a JSON record (chapter 3's protocol):
``python -m lib.score_epochs RUN --epochs 5,10,15,20,30 --n 500 --final-sets 4 --out FILE.json``.

Each epoch must be one the run kept weights of (a snapshot, or its last epoch). Every (epoch, weights,
set) is written to the record as soon as it is scored, so the command can be stopped and run again:
it scores only what is missing. Set k is sampled with seed k, the same for every run.
"""
from __future__ import annotations

import sys

from .. import cli
from ..epoch_scores import score_epochs


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.score_epochs", description=__doc__.split("\n")[0])
    p.add_argument("run", help="a run's checkpoint.pt, or its folder")
    p.add_argument("--epochs", required=True, help="comma-separated epochs, e.g. 5,10,15,20,30")
    p.add_argument("--n", type=int, default=500, help="samples per set (default 500)")
    p.add_argument("--final-sets", type=int, default=1, help="independent sets at the last epoch (default 1)")
    p.add_argument("--weights", default="auto", help="comma-separated: auto, raw, ema (default auto: EMA if kept)")
    p.add_argument("--sampler", help="sampler step (ddpm, ddim) or a named sampler such as ddpm-posterior or "
                   "ddpm-clip (lib.sampler_sweep.NAMED_SAMPLERS); default: the process's own")
    p.add_argument("--sampler-steps", type=int, help="respaced sampling steps (default: all T)")
    p.add_argument("--start-noise", type=float, help="cold runs only: the standard deviation of the noise added to "
                   "each generation start (default: the run's own, 0.002; 0: none); recorded in the protocol")
    cli.add_record_arguments(p)
    a = p.parse_args(argv)
    epochs = cli.comma_list(p, "--epochs", a.epochs)
    if any(e < 1 for e in epochs):
        p.error(f"--epochs must be positive, got {a.epochs!r}")
    weights = tuple(a.weights.split(","))
    bad = [w for w in weights if w not in ("auto", "raw", "ema")]
    if bad:
        p.error(f"--weights takes auto, raw or ema, got {', '.join(bad)}")
    if a.n < 2 or a.final_sets < 1:
        p.error("--n must be >= 2 and --final-sets >= 1")
    if a.start_noise is not None and not 0 <= a.start_noise < float("inf"):
        p.error(f"--start-noise must be a number >= 0, got {a.start_noise}")
    record = score_epochs(a.run, a.out, epochs, n=a.n, final_sets=a.final_sets, weights=weights, step=a.sampler,
                          steps=a.sampler_steps, data_root=a.data, progress=not a.no_progress,
                          log=lambda m: print(m, file=sys.stderr), device=a.device, start_noise=a.start_noise)
    print(f"{len(record['entries'])} scored sets of {a.n} samples of '{record['run']}' in {a.out}")
    return 0
