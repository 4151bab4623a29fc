# HALOS Analysis: the README's commands. Everything the project needs is installed from here.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.halos-installed
CORES  ?= 2
EXAMPLE := example_data/generated

.PHONY: demo test test-fast test-cluster bench lint format setup browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

setup: $(STAMP)

$(EXAMPLE)/.complete: $(STAMP) $(wildcard halos_analysis/simulate/*.py) example_data/bsa_profile.dat
	$(BIN)/halos --overwrite simulate $(EXAMPLE)
	touch $@

## demo: set up, simulate the example measurement, run the whole workflow on it
demo: $(EXAMPLE)/.complete
	$(BIN)/halos run --cores $(CORES)
	@echo
	@echo "Results:  results/<sample>/  (NXcanSAS .h5, .dat, summary.json, plots/)"
	@echo "Summary:  results/summary.csv"
	@echo "Report:   results/report.html"

# The report test renders in headless Chromium (Debian's package); where it cannot be
# installed (no root, no apt), that one test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the report rendering test will skip"; \
	  else echo "note: chromium not installed; the report rendering test will skip"; fi; }

## test: set up, lint, run the test suite (incl. the workflow end to end, lint and dry run, and
## a wheel installed in a clean venv: `halos run -n`, a real run, `halos reproduce`)
test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/pytest -q

## test-fast: the unit tests only (no workflow runs, no wheel build)
test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

## test-cluster: the workflow on a real one-node SLURM on this machine (root: installs
## Debian's slurm-wlm and munge if missing), results compared with a local run; skips
## with one line where it cannot run
test-cluster: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[cluster]'
	bash tests/cluster/slurm_local.sh

## bench: speed against pyFAI and freesas in one process (not part of the tests)
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_integrate.py
	$(BIN)/python benchmarks/bench_analysis.py
	$(BIN)/python benchmarks/bench_accuracy.py --stress
	$(BIN)/python benchmarks/bench_series.py $(if $(RAW_PYTHON),--raw-python $(RAW_PYTHON))
	$(BIN)/python benchmarks/bench_shift.py $(if $(SHIFT_FULL),--full)
	$(BIN)/python benchmarks/bench_live.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint --snakefile Snakefile

format: $(STAMP)
	$(BIN)/ruff format halos_analysis tests benchmarks
	$(BIN)/snakefmt Snakefile workflow/Snakefile workflow/rules

clean:
	rm -rf results .snakemake $(EXAMPLE) build dist
