#!/usr/bin/env bash
# Chapter 5's time to quality: train each network of the comparison for 5, 10, 20 and 30 minutes of
# training steps (one run per network, extended from one budget to the next), scoring 1,000 samples at
# each budget with the book's classifier, DDIM with 100 steps. Each result is one JSON line appended to
# results/time_to_quality.jsonl; budgets already there are skipped, and an interrupted run resumes, so
# run this script again after an interruption and it continues where it stopped.
#   DIFFUSION_BOOK_DATA=../shared/data bash scripts/time_to_quality.sh [CONFIG ...]
# (CHECKPOINT_ROOT=DIR writes DIR/<config>/ instead; MINUTES="5 10" changes the budgets, N the samples.)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RESULTS=${RESULTS:-results/time_to_quality.jsonl}
runs=("$@")
[ ${#runs[@]} -gt 0 ] || runs=(quality-unet quality-cnn quality-autoencoder quality-vae)
for name in "${runs[@]}"; do
  for minutes in ${MINUTES:-5 10 20 30}; do
    if [ -f "$RESULTS" ] && "$PY" -c 'import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(r["config"] == sys.argv[2] and r["budget_minutes"] == float(sys.argv[3]) for r in rows) else 1)' \
        "$RESULTS" "$name" "$minutes"; then
      continue
    fi
    echo "== $name, $minutes minutes ($(date -u +%H:%M:%S))"
    line=$("$PY" -m lib.bench --quality "$minutes" "$name" --out "${CHECKPOINT_ROOT:-checkpoints}/$name" \
           --n "${N:-1000}" --sampler ddim --sampler-steps 100 --no-progress)
    echo "$line" >> "$RESULTS"
    echo "$line"
  done
done
