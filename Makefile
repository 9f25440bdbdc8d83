# channelab: two commands on a fresh machine.
#   make report   create .venv, install, run the flagship experiment -> out/hillstrom_email.{pdf,json,html}
#   make test     create .venv if needed, install with dev tools, run lint, types and every test
# Needs Python >= 3.12 (PyMC 6 / ArviZ 1 require it). Set PYTHON=/path/to/python3.12 to choose one.

SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
EXPERIMENT ?= experiments/hillstrom_email.yaml

# The first interpreter >= 3.12 among: pyenv's installed versions (newest first), python3.13,
# python3.12, python3. Override with PYTHON=...
PYENV_PYTHONS := $(shell command -v pyenv >/dev/null 2>&1 && ls -dr "$$(pyenv root)"/versions/3.*/bin/python3 2>/dev/null)
PYTHON ?= $(shell for p in $(PYENV_PYTHONS) python3.13 python3.12 python3; do \
	  command -v "$$p" >/dev/null 2>&1 && "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null \
	  && { command -v "$$p"; break; }; done)

export MPLBACKEND := Agg

.PHONY: report test fast test-calibration lint check venv clean bench calibration claims examples

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "channelab needs Python >= 3.12 (PyMC 6 and ArviZ 1 do not support older versions)."; \
	  echo "Install it (e.g. 'pyenv install 3.12', 'apt install python3.12', or python.org) and re-run,"; \
	  echo "or point to it: make PYTHON=/path/to/python3.12 $(MAKECMDGOALS)"; exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@

venv: $(VENV)/.installed

# The common metric models compiled once, ahead of any run (about a minute): a user's first run of
# a new simple experiment file then starts sampling at once (channelab warm-up).
$(VENV)/.warmed: $(VENV)/.installed
	$(BIN)/channelab warm-up
	@touch $@

# A report's 'created' time is that of the last commit of its experiment file (SOURCE_DATE_EPOCH,
# the reproducible-builds convention), and its paths are relative to the experiment file: a run
# is rebuilt byte for byte from a fresh clone. 'make report' writes to the git-ignored out/; the
# committed example reports in reports/ (read by the docs) are rebuilt by 'make examples'.
epoch = $(shell git log -1 --format=%ct -- $(1) 2>/dev/null)

report: venv $(VENV)/.warmed
	SOURCE_DATE_EPOCH=$(call epoch,$(EXPERIMENT)) $(BIN)/channelab run $(EXPERIMENT) --out out

test: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# The fast tier alone, on two workers (pytest-xdist; about 75 s on 2 cores). 'make test' runs
# both tiers on two workers, each test file on one (its module fixtures built once), the files
# with the most slow tests first (tests/conftest.py) so that both workers finish together; PyMC's
# own sampler starts its chains with forkserver, never by forking a threaded worker.
fast: venv
	$(BIN)/pytest -m "not slow" -n 2 --dist worksteal

# The tests at a benchmark's scale (many simulated tests each; about 3 minutes), left out of
# 'make test': the stopping rule's calibration, the calibration of the verdicts, survival coverage.
test-calibration: venv
	$(BIN)/pytest -m calibration

bench: venv
	$(BIN)/python benchmarks/hillstrom.py
	$(BIN)/python benchmarks/design.py

calibration: venv
	$(BIN)/python benchmarks/calibration.py

# How often each kind of claim a report makes is false, in 25 simulated worlds (about 20 minutes
# on 2 cores, one process per core).
claims: venv
	$(BIN)/python benchmarks/claims.py --jobs 2

# Every example report in reports/ (about 10 minutes): each experiment, the monitored pilot,
# the replication, its plan, the many-lab replication, and the pilots' designs.
examples: venv
	SOURCE_DATE_EPOCH=$(call epoch,experiments/programmes/outreach_programme.yaml) \
	  $(BIN)/channelab learn experiments/programmes/outreach_programme.yaml --out reports
	for e in hillstrom_email social_selling_pilot matched_social_selling ubc_slacktivism_study1 \
	         crm_weekly_aggregated course_funnel_daily ubc_study1_published expansion_pilot_adjusted \
	         hillstrom_email_adjusted job_training_weighted social_selling_pilot_learned \
	         social_selling_pilot_per_meeting; do \
	  SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct -- experiments/$$e.yaml 2>/dev/null) \
	  $(BIN)/channelab run experiments/$$e.yaml --out reports || exit 1; done
	$(BIN)/channelab monitor experiments/social_selling_monitor.yaml --out reports
	$(BIN)/channelab replicate experiments/ubc_slacktivism_study1.yaml --data data/ubc_replication_null.csv --out reports
	$(BIN)/channelab replicate experiments/ubc_slacktivism_study1.yaml --plan --out reports
	$(BIN)/channelab replicate experiments/ubc_many_labs.yaml --out reports
	$(BIN)/channelab design experiments/social_selling_pilot.yaml --out reports
	$(BIN)/channelab design experiments/expansion_pilot_adjusted.yaml --out reports
	$(BIN)/channelab design experiments/social_selling_monitor.yaml --out reports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
