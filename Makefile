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

book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

test: $(STAMP)
	PY=$(PY) bash scripts/test.sh

clean:
	rm -rf _build
