#!/usr/bin/env bash
# Train (or continue) every run of chapter 3's hyperparameter comparison, one after another, into
# checkpoints/<name>/. Each run is resumable after every epoch: run this script again after an
# interruption and it continues where it stopped; finished runs are left as they are.
#   DIFFUSION_BOOK_DATA=../shared/data bash scripts/train_comparison.sh [NAME ...]
# (CHECKPOINT_ROOT=DIR writes DIR/<name>/ instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(ema harder T100 lr6e-4 selu linear-T400 cosine-T400 quadratic-T400 sigmoid-T400 l1 smooth_l1 wide seed1)
for name in "${runs[@]}"; do
  out="${CHECKPOINT_ROOT:-checkpoints}/$name"
  resume=()
  [ -f "$out/checkpoint.pt" ] && resume=(--resume)
  echo "== $name ($(date -u +%H:%M:%S))"
  "$PY" -m lib.train "$name" --out "$out" "${resume[@]}" --no-progress
done
