# Two commands: `make run` and `make test`. Each sets up .venv itself when missing.
# `make docs` builds the documentation site into site/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# `make run` installs the runtime only; the tests, docs and tools bring their extras.
# Editable installs use setuptools' compat mode (a path in a .pth file), which type checkers
# (mypy, pyright) follow; its default import-hook finder is invisible to them.
INSTALL := $(PY) -m pip install -q --config-settings editable_mode=compat -e
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The tests cover the exporters, the Ray executor and object storage too, so they need the
# `export` extra (torch, torchvision), the `cluster` extra (ray), the `cloud` extra (fsspec
# and its backends; `dev` brings moto, the S3 server they run against), and they build the
# docs (`docs` extra).
TEST_STAMP := $(VENV)/.installed-test
DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: run test docs lint bench bench-gpu headline models rvm rvm-source peer-venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(INSTALL) .
	touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(INSTALL) '.[dev]'
	touch $@

$(TEST_STAMP): pyproject.toml Makefile | $(VENV)/bin/python
	$(INSTALL) '.[dev,export,cluster,cloud,docs]'
	touch $@

run: $(STAMP)
	$(PY) run_camera.py

test: $(TEST_STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
# the typed example app, checked from outside the checkout: rtseg as the venv installs it
	cd "$${TMPDIR:-/tmp}" && $(abspath $(PY)) -m mypy --no-incremental --cache-dir=/dev/null \
		--follow-imports=silent $(abspath docs/examples/typed_app.py)
	$(PY) -m pytest -q

# The site, with every warning an error: a broken link or a page that fails to render.
$(DOCS_STAMP): pyproject.toml | $(VENV)/bin/python
	$(INSTALL) '.[docs]'
	touch $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

lint: $(DEV_STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(DEV_STAMP)
	$(PY) -m benchmarks all --out bench-results

bench-gpu:
	bash benchmarks/gpu.sh bench-results/gpu

# README's headline figures, at the defaults: the bundled model against MediaPipe's own loop
# (file and live, 720p) and RVM (`make rvm` first) against its as-converted graph, live and
# on photos; each pair alternated in one run. About 10 minutes on 2 idle cores.
headline: $(STAMP) peer-venv
	$(PY) -m benchmarks peer matting --out bench-results/headline

# Rebuild every bundled model and rtseg/models/NOTICE, in a toolchain venv of their own
# (tensorflow and tf2onnx pin versions the runtime's onnx can't live with): MediaPipe's selfie
# models from its wheel (pip download), DeepLabV3 from Coral's TFLite files in $(CORAL).
CORAL ?= ../shared/models/coral
models:
	$(PYTHON) -m venv .venv-selfie
	.venv-selfie/bin/python -m pip install -q -r export/requirements-selfie.txt
	.venv-selfie/bin/python -m export.selfie --out rtseg/models
	.venv-selfie/bin/python -m export.coral --coral $(CORAL) --out rtseg/models

# Robust Video Matting (GPL-3.0, so never in the repository or the wheel) built from its TF.js
# graph in $(RVM) into the user model directory: rvm_mobilenetv3 (the ratio an input), one
# variant per ratio in $(RVM_RATIOS) with the ratio fixed, NOTICE and licence beside them, and
# tf2onnx's unoptimised conversion under rvm-baseline/ for the speed comparison. tensorflow
# and tf2onnx live in a venv of their own. RVM_INT8=1 also writes rvm_mobilenetv3_r1_int8, the
# int8 form of rvm_mobilenetv3_r1 (export/rvm_int8.py, docs/matting.md), calibrated on the
# frames of $(RVM_INT8_CLIP).
RVM ?= ../shared/models/rvm
RVM_RATIOS ?= 1 0.25
RVM_INT8_CLIP ?= ../shared/data/videos/thoughtful_640x360.mp4
rvm: rvm-source $(STAMP)
	$(PYTHON) -m venv .venv-rvm
	.venv-rvm/bin/python -m pip install -q -r export/requirements-rvm.txt
	out="$$($(PY) -c 'from rtseg.models.registry import user_dir; print(user_dir())')" && \
	.venv-rvm/bin/python -m export.rvm --rvm $(RVM) --out "$$out" \
		$(foreach r,$(RVM_RATIOS),--ratio $(r)) \
		--as-converted "$$out/rvm-baseline/rvm_mobilenetv3_as_converted.onnx" \
		$(if $(RVM_INT8),&& $(PY) -m export.rvm_int8 build --models "$$out" --clip $(RVM_INT8_CLIP))

# The graph's files are checked (and their source named) before anything is installed.
rvm-source:
	$(PYTHON) -m export.rvm_source $(RVM)

# MediaPipe's own loop, the peer `python -m benchmarks peer` runs beside rtseg, in its own venv
# (mediapipe pins protobuf and numpy versions the runtime's venv can't share).
peer-venv: .venv-mediapipe/.installed

.venv-mediapipe/.installed: export/requirements-mediapipe.txt
	$(PYTHON) -m venv .venv-mediapipe
	.venv-mediapipe/bin/python -m pip install -q -r export/requirements-mediapipe.txt
	touch $@

clean:
	rm -rf site $(VENV) .venv-selfie .venv-mediapipe .venv-rvm .pytest_cache .ruff_cache
