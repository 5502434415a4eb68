"""Train a named configuration or a TOML file: ``python -m lib.train CONFIG [--dataset NAME] [--epochs N]
[--minutes M] [--out DIR] [--resume]``.

CONFIG is one of the book's named configurations (lib/configs.py) or the path of a ``.toml`` file
whose keys are configuration fields (plus ``base = "NAME"`` to start from a named one). Writes
``DIR/checkpoint.pt`` after every epoch (default DIR: ``runs/<name>``). ``--resume`` continues a
stopped run exactly; ``--epochs`` or ``--minutes`` may be raised to extend a finished one.
``--minutes M`` stops the run once its training steps have taken M minutes in all, at a step
boundary, with a checkpoint that ``--resume`` continues. ``--dataset`` trains the configuration on
another data set of :data:`lib.data.DATASETS` (at that data set's native image size unless the
configuration file sets ``image_size``).
"""
from __future__ import annotations

from pathlib import Path

from .. import cli
from ..checkpoints import CHECKPOINT_NAME, read_checkpoint
from ..config import short_mode
from ..configs import CONFIGS, TrainConfig, get_config, load_config_file
from ..data import DATASETS
from ..training import train

SHORT_TRAIN_LIMIT, SHORT_VAL_LIMIT = 2048, 512


def _epochs_list(p, option: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(e) for e in text.split(","))
    except ValueError:
        p.error(f"{option} must be comma-separated integers, got {text!r}")


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m lib.train", description=__doc__.split("\n")[0])
    p.add_argument("config", help=f"a named configuration ({', '.join(sorted(CONFIGS))}) or a .toml file")
    p.add_argument("--dataset", choices=list(DATASETS), help="data set to train on (default: the configuration's, "
                   "mnist for the book's runs)")
    p.add_argument("--epochs", type=int, help="target number of epochs (default: the configuration's)")
    p.add_argument("--minutes", type=float, help="wall-clock budget of training steps, in minutes, summed over "
                   "resumed calls (default: none, train for the epochs)")
    p.add_argument("--out", help="output folder (default: runs/<name>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), help="network precision (default: auto)")
    p.add_argument("--limit", type=int, help="train on the first N images only (validation: N/4)")
    p.add_argument("--metric-epochs", help="comma-separated epochs at which to score samples with FID/IS/KID "
                   "and precision/recall on the book's classifier, e.g. 1,20,40 (default: none)")
    p.add_argument("--metric-samples", type=int, help="samples scored at those epochs (default 256)")
    p.add_argument("--snapshot-epochs", help="comma-separated epochs whose weights are kept in DIR/snapshots/")
    p.add_argument("--data", help="data root holding the data sets in torchvision's layouts (MNIST/raw/, "
                   "cifar-10-batches-py/, ...), relative to the current folder (default: $DIFFUSION_BOOK_DATA, "
                   "else a cache folder)")
    cli.add_device_argument(p, "the checkpoint's history names it")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    a = p.parse_args(argv)
    overrides = {}
    if a.dataset is not None:
        overrides["dataset"] = a.dataset
    if a.epochs is not None:
        if a.epochs < 1:
            p.error(f"--epochs must be >= 1, got {a.epochs}")
        overrides["epochs"] = a.epochs
    if a.minutes is not None:
        if not a.minutes > 0:
            p.error(f"--minutes must be positive, got {a.minutes}")
        overrides["minutes"] = a.minutes
    if a.precision:
        overrides["precision"] = a.precision
    if a.metric_epochs:
        overrides["metric_epochs"] = _epochs_list(p, "--metric-epochs", a.metric_epochs)
    if a.metric_samples is not None:
        overrides["metric_samples"] = a.metric_samples
    if a.snapshot_epochs:
        overrides["snapshot_epochs"] = _epochs_list(p, "--snapshot-epochs", a.snapshot_epochs)
    limit = a.limit if a.limit is not None else (SHORT_TRAIN_LIMIT if short_mode() else None)
    if limit is not None:
        if limit < 1:
            p.error(f"--limit must be >= 1, got {limit}")
        overrides.update(train_limit=limit, val_limit=max(1, min(SHORT_VAL_LIMIT, limit // 4)))
    from_file = a.config.endswith(".toml") or Path(a.config).is_file()
    base = load_config_file(a.config) if from_file else get_config(a.config)
    out = Path(a.out or f"runs/{base.name}")
    ckpt = out / CHECKPOINT_NAME
    if a.resume and ckpt.exists():  # keep what the run measures and how long it runs unless told otherwise
        stored = TrainConfig.from_dict(read_checkpoint(ckpt)["config"])
        for key in ("metric_epochs", "metric_samples", "snapshot_epochs", "minutes"):
            overrides.setdefault(key, getattr(stored, key))
    config = (load_config_file(a.config, **overrides) if from_file else get_config(a.config, **overrides))
    train(config, out, resume=a.resume, data_root=a.data, device=a.device, progress=not a.no_progress)
    return 0

