# Thin wrapper over dev.py (which does the real work; see `python3 dev.py help`).
# Extra arguments: make test ARGS="-k policy -x"
PYTHON ?= python3

.PHONY: setup test demo bench claude lock lint

setup test demo bench claude lock lint:
	$(PYTHON) dev.py $@ $(ARGS)
