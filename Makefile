# Two commands for a fresh machine: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501
CORPUS ?= corpus
INDEX ?= embeddings

.PHONY: run test test-fast index install browser bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch: a plain `torch` requirement would pull gigabytes of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

index: install
	$(PY) -m qa index --corpus $(CORPUS) --index $(INDEX)

run: install
	@test -n "$$QA_STORE" || test -f $(INDEX)/CURRENT || $(PY) -m qa index --corpus $(CORPUS) --index $(INDEX)
	QA_CORPUS=$(CORPUS) QA_INDEX=$(INDEX) $(VENV)/bin/streamlit run streamlit_app.py --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false --client.toolbarMode viewer

# All tests, real-model and browser ones included (CI runs this). The browser test needs
# Debian's chromium (Playwright cannot download browsers here); it is installed when missing.
test: install browser
	$(PY) -m pytest -m "" -q

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
		|| echo "warning: could not install Debian's chromium (needs root): the browser test will be skipped"

# Speed, memory and quality in one run (~15 min on 2 cores): docs/benchmarks.{json,md} and plots.
# `make bench BENCH=--quick` is a small run for development (docs/benchmarks-quick.*, not committed).
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(PY) scripts/bench.py $(BENCH)

# Unit tests only, with the fake encoder: seconds.
test-fast: install
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
