# One-command entry points (see README.md).
#   make book   set up .venv if needed, then build the whole book into _build/html
#   make test   set up .venv if needed, then run the library tests and execute every chapter (short mode)
#   make lab    set up .venv if needed, then open JupyterLab on the book (extra options: LAB_ARGS="...")
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_ARGS ?=

# The chapters' kernels never run where `make` was typed: Jupyter Book starts each one in book/, nbval
# in _build/nbval, JupyterLab in the notebook's folder. A relative DIFFUSION_BOOK_DATA (the README's
# offline form, DIFFUSION_BOOK_DATA=../shared/data make book) would be read from there and point
# nowhere, so it is made absolute here, against the folder make runs in, before any kernel starts.
# (Written into the commands below too, so that `make -n` shows the folder the chapters will read.)
ifneq ($(strip $(DIFFUSION_BOOK_DATA)),)
override DIFFUSION_BOOK_DATA := $(abspath $(patsubst ~%,$(HOME)%,$(strip $(DIFFUSION_BOOK_DATA))))
export DIFFUSION_BOOK_DATA
DATA := DIFFUSION_BOOK_DATA='$(DIFFUSION_BOOK_DATA)'
endif

.PHONY: setup book test lab clean

# The python3 kernel is installed into the environment as "Python 3", the display name the chapters'
# headers carry: JupyterLab writes the running kernel's display name into the notebook, and ipykernel's
# own "Python 3 (ipykernel)" would rewrite every chapter's .py on its first save (see jupytext.toml).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" > /dev/null
	touch $(STAMP)

setup: $(STAMP)

# The execution cache is keyed on each chapter's code only: when a shipped checkpoint or result
# changes, the cached outputs are stale, so drop the cache and execute the chapters again.
book: $(STAMP)
	@if [ -d _build/.jupyter_cache ] && [ -n "$$(find checkpoints results -type f -newer _build/.jupyter_cache)" ]; then \
	  echo "checkpoints/ or results/ changed since the last build: executing the chapters again"; \
	  rm -rf _build/.jupyter_cache; fi
	$(DATA) $(VENV)/bin/jupyter-book build . -W -n --keep-going
	touch _build/.jupyter_cache

test: $(STAMP)
	$(DATA) PY=$(PY) bash scripts/test.sh

# JupyterLab on the repository (open book/*.py with Open With > Notebook); jupyterlab-myst renders the
# chapters' MyST. Extra options pass through, e.g. make lab LAB_ARGS="--no-browser --port 8899".
lab: $(STAMP)
	$(DATA) $(VENV)/bin/jupyter lab --notebook-dir=. $(LAB_ARGS)

clean:
	rm -rf _build
