#!/usr/bin/env bash
# One check of the CUDA backend on a lent GPU machine (H100/H200, driver 580, python3.12 + torch 2.11, nvcc/NVRTC 13,
# no network), and of the NV device (our own driver) beside it. Runs in the repository root, finishes in under 8
# minutes (step timeouts add up to 480 s), and prints a short summary table last.
#
# How to run (from a session that was lent a machine), with the device tool:
#   run(command="bash bench/gpu_check.sh", timeout_s=540)
# Nothing needs to be carried: the project runs from the tree via PYTHONPATH=., and the image already holds
# torch, numpy, pytest, pytest-xdist, hypothesis and the nvidia-cuda-nvrtc wheel (see the device README's
# KINDS.md package list). If a package is missing there, bring it as wheels: here, in the repo root,
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl hypothesis==6.170.17 sortedcontainers attrs
# and pass carry=[".whl"]; this script installs .whl/*.whl into /tmp/site when the folder exists.
# Files written to $OUT (when set) come back: gpu_check.log, bench.json.
set -u
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-/tmp/gpu_check}"
mkdir -p "$OUT_DIR"
LOG="$OUT_DIR/gpu_check.log"
: > "$LOG"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 BAREGRAD_CACHE=/tmp/baregrad_cache
PY=${PY:-python3}
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

declare -a NAMES RCS SECS
step() {  # step NAME TIMEOUT_S command...
  local name=$1 limit=$2; shift 2
  echo "==== $name (limit ${limit}s)" | tee -a "$LOG"
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@" 2>&1 | tee -a "$LOG"
  local rc=${PIPESTATUS[0]}
  NAMES+=("$name"); RCS+=("$rc"); SECS+=($((SECONDS - t0)))
}

step "machine" 20 bash -c 'nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; \
  python3 -c "import sys, torch; print(sys.version.split()[0], torch.__version__, torch.cuda.is_available())"; \
  (nvcc --version | tail -1) || true'
step "open CUDA device" 30 $PY -c "
from baregrad.device import get_device
d = get_device('CUDA'); print(d, 'compiler:', d.compiler.version, 'target:', d.target)"
step "CUDA device tests" 45 $PY -m pytest -q -p no:cacheprovider tests/device/test_cuda_device.py \
  tests/device/test_cuda_render.py
XDIST=$($PY -c "import xdist" 2>/dev/null && echo "-n 8")  # parallel workers share the on-disk cubin cache
step "op suite on CUDA" 140 env BAREGRAD_TEST_DEVICES=CUDA $PY -m pytest -q -p no:cacheprovider $XDIST \
  --maxfail=50 -rf tests/ops
step "open NV device" 20 $PY -c "
from baregrad.device import get_device
d = get_device('NV'); print(d, d.drv.class_names, 'compiler:', d.compiler.version)"
# NV renders the same CUDA C as CUDA, so its cubins come from the cache the CUDA run just filled
step "op suite on NV" 110 env BAREGRAD_TEST_DEVICES=NV $PY -m pytest -q -p no:cacheprovider ${XDIST:+-n 4} \
  --maxfail=50 -rf tests/ops
step "bench/gpu.py" 95 $PY bench/gpu.py --devices CUDA,NV --json "$OUT_DIR/bench.json"
if [ -f bench/nv_smoke.py ]; then
  step "bench/nv_smoke.py" 20 $PY bench/nv_smoke.py
fi

echo
echo "==== summary (exit 124 = step timed out)"
printf '%-22s %6s %8s\n' step rc seconds
for i in "${!NAMES[@]}"; do
  printf '%-22s %6s %8s\n' "${NAMES[$i]}" "${RCS[$i]}" "${SECS[$i]}"
done
echo "---- op suite result"
grep -E '^(FAILED|ERROR)|[0-9]+ (passed|failed)' "$LOG" | tail -12
echo "---- bench table"
awk '/^benchmark /,/^\(ratios/' "$LOG"
