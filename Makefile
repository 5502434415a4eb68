# One-command entry points (see README.md).
#   make book   set up .venv if needed, then build the whole book into _build/html
#   make test   set up .venv if needed, then run the library tests and execute every chapter (short mode)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup book test clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# The execution cache is keyed on each chapter's code only: when a shipped checkpoint or result
# changes, the cached outputs are stale, so drop the cache and execute the chapters again.
book: $(STAMP)
	@if [ -d _build/.jupyter_cache ] && [ -n "$$(find checkpoints results -type f -newer _build/.jupyter_cache)" ]; then \
	  echo "checkpoints/ or results/ changed since the last build: executing the chapters again"; \
	  rm -rf _build/.jupyter_cache; fi
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	touch _build/.jupyter_cache

test: $(STAMP)
	PY=$(PY) bash scripts/test.sh

clean:
	rm -rf _build
