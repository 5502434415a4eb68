#!/usr/bin/env bash
# The test command (README: `make test`): library tests with pytest, and every chapter executed by
# nbval in short mode. Chapters are py:percent files; nbval collects only .ipynb, so they are
# converted into _build/nbval first (never into book/, where a reader's paired notebooks live).
set -euo pipefail
# A relative DIFFUSION_BOOK_DATA (DIFFUSION_BOOK_DATA=../shared/data make test, or this script run
# directly) means relative to where the command was typed; nbval's kernels run in _build/nbval, so make
# it absolute now, before the `cd` below and before any kernel starts (`make test` has already done so).
if [ -n "${DIFFUSION_BOOK_DATA:-}" ]; then
  case "$DIFFUSION_BOOK_DATA" in
    "~"|"~/"*) DIFFUSION_BOOK_DATA="$HOME${DIFFUSION_BOOK_DATA#\~}" ;;
  esac
  case "$DIFFUSION_BOOK_DATA" in
    /*) ;;
    *) DIFFUSION_BOOK_DATA="$(CDPATH= cd -- "$DIFFUSION_BOOK_DATA" 2>/dev/null && pwd || echo "$PWD/$DIFFUSION_BOOK_DATA")" ;;
  esac
  export DIFFUSION_BOOK_DATA
fi
cd "$(dirname "$0")/.."
PY=${PY:-python}
export DIFFUSION_BOOK_SHORT=${DIFFUSION_BOOK_SHORT:-1}
unset MPLBACKEND  # chapters draw with the kernel's inline backend, as in JupyterLab and the book
rm -rf _build/nbval && mkdir -p _build/nbval
for src in book/*.py; do
  "$PY" -m jupytext --quiet --to ipynb --output "_build/nbval/$(basename "${src%.py}").ipynb" "$src"
done
exec "$PY" -m pytest tests _build/nbval --nbval-lax --nbval-current-env -p no:cacheprovider "$@"
