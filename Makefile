# The two set-up commands of the README: `make demo` (the main job end to end) and `make test`.
# Both create the virtualenv at .venv/ on first use. Recipes are silent so that `make demo`
# prints only the JSON report on stdout (progress and logs go to stderr).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MAKEFLAGS += --no-print-directory

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) (first run only) ..." >&2
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >&2
	@$(PY) -m pip install -q -e '.[dev]' >&2
	@touch $@

# Local Kafka broker up (stopped afterwards), the default day produced unpaced, then the sweep
# consumes it once on a local Ray cluster and prints the JSON report.
demo: $(STAMP)
	@kafka/with-broker.sh sh -c '$(PY) -m producer configs/default.yaml --pace 0 --quiet >&2 && \
		$(PY) -m sweep configs/default.yaml --source kafka --out results'

test: $(STAMP)
	@$(VENV)/bin/ruff check . >&2
	@kafka/with-broker.sh $(PY) -m pytest -q

bench: $(STAMP)
	@$(PY) -m bench.router

clean:
	rm -rf $(VENV) results
