#!/usr/bin/env bash
# One check of the CUDA backend on a lent GPU machine (H100/H200, driver 580, python3.12 + torch 2.11, nvcc/NVRTC 13,
# no network), and of the NV device (our own driver) beside it. Runs in the repository root; on an H200 it took
# about 2 minutes (every step has a time cap; the caps add up to 10 minutes), and prints a short summary last.
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
  (nvcc --version | tail -1) || true; uname -r; ls -l /dev/nvidia*'
# libcuda's own ioctls (classes, parameter bytes, statuses) while our CUDA device runs one kernel: the reference
# that baregrad's NV driver is compared against offline when it fails (bench/ioctl_trace.c)
step "trace libcuda" 30 bash -c "gcc -shared -fPIC -O1 -o /tmp/ioctl_trace.so bench/ioctl_trace.c -ldl && \
  IOCTL_TRACE=$OUT_DIR/cuda_ioctls.txt LD_PRELOAD=/tmp/ioctl_trace.so $PY -c '
import baregrad as bg
x = bg.ones(1 << 22, device=\"CUDA\")
print(\"sum\", (x + 1).sum().item())'; wc -l $OUT_DIR/cuda_ioctls.txt"
step "nv_smoke" 30 env BAREGRAD_NV_TRACE="$OUT_DIR/nv_ioctls.txt" $PY bench/nv_smoke.py --launches 500
NV_OK=${RCS[-1]}
step "open CUDA device" 20 $PY -c "
from baregrad.device import get_device
d = get_device('CUDA'); print(d, 'compiler:', d.compiler.version, 'target:', d.target)"
step "CUDA device tests" 30 $PY -m pytest -q -p no:cacheprovider -x tests/device/test_cuda_device.py \
  tests/device/test_cuda_render.py
XDIST=$($PY -c "import xdist" 2>/dev/null && echo "-n 8")  # parallel workers share the on-disk cubin cache
step "op suite on CUDA" 90 env BAREGRAD_TEST_DEVICES=CUDA $PY -m pytest -q -p no:cacheprovider $XDIST \
  --maxfail=150 --tb=short -rf tests/ops
BENCH_DEVICES=CUDA
if [ "$NV_OK" = 0 ]; then  # NV renders the same CUDA C as CUDA: its cubins come from the cache just filled
  step "open NV device" 20 $PY -c "
from baregrad.device import get_device
d = get_device('NV'); print(d, d.drv.class_names, 'compiler:', d.compiler.version)"
  step "op suite on NV" 60 env BAREGRAD_TEST_DEVICES=NV $PY -m pytest -q -p no:cacheprovider ${XDIST:+-n 4} \
    --maxfail=150 --tb=short -rf tests/ops
  BENCH_DEVICES=CUDA,NV
fi
LLM_DIR=${LLM_GPU_DIR:-.llm_gpu}
if [ -f "$LLM_DIR/expected.json" ]; then  # made here by `python bench/llm_gpu_check.py prepare .llm_gpu`; carried
  step "LLM on GPU" 60 $PY bench/llm_gpu_check.py check "$LLM_DIR" --devices $BENCH_DEVICES
  # where one decode step's time goes on each GPU device: the profiler's table (device timestamps: CUDA events,
  # NV semaphore timestamps; achieved GB/s and GFLOP/s as % of the datasheet peak), and its traces
  step "profile LLM decode" 60 $PY bench/profile_llm_step.py --gguf "$LLM_DIR/smollm2_truncated.gguf" \
    --devices $BENCH_DEVICES --trace-dir "$OUT_DIR"
else
  echo "==== LLM on GPU, profile LLM decode: skipped, no $LLM_DIR/expected.json (make it here with" \
    "'python bench/llm_gpu_check.py prepare .llm_gpu' and pass carry=[\".llm_gpu\"])" | tee -a "$LOG"
fi
step "bench/gpu.py" 90 $PY bench/gpu.py --devices $BENCH_DEVICES --json "$OUT_DIR/bench.json"
# the model zoo beside torch.cuda (bench/models.py), one quick table per device; rows print as they finish
for dev in ${BENCH_DEVICES//,/ }; do
  step "models $dev" 150 $PY bench/models.py --device $dev --quick
done
if [ "$NV_OK" = 0 ]; then
  # Where one eager op's time goes on CUDA and NV: the launch in a tight loop, the launch timed inside the chain, and
  # the chain without launches; NV's command memory (rings, pushbuffers, kernel arguments) in video memory (the
  # default) and in system memory, alternated so that drift on the machine hits both placements alike.
  for placement in vidmem sysmem vidmem sysmem; do
    step "launch parts $placement" 30 env BAREGRAD_NV_COMMAND_MEMORY=$placement $PY bench/nv_launch_parts.py \
      --iters 3000 --bytecodes
  done
  step "latency NV sysmem" 30 env BAREGRAD_NV_COMMAND_MEMORY=sysmem $PY bench/gpu.py --devices CUDA,NV \
    --rows eager_us,jit_us --no-torch
fi

echo
echo "==== summary (exit 124 = step timed out)"
printf '%-22s %6s %8s\n' step rc seconds
for i in "${!NAMES[@]}"; do
  printf '%-22s %6s %8s\n' "${NAMES[$i]}" "${RCS[$i]}" "${SECS[$i]}"
done
echo "---- op suite result"
grep -E '^(FAILED|ERROR)|[0-9]+ (passed|failed)' "$LOG" | tail -30
echo "---- nv_smoke"
grep -E '^\[(FAIL| ok )\]|nv_smoke:|us/kernel|round trip|raised after' "$LOG" | tail -18
echo "---- LLM"
grep -E '^(CUDA|NV): ' "$LOG" | tail -4
echo "---- profile of one decode step (bench/profile_llm_step.py: top kernels, phases, % of peak)"
awk '/^== (CUDA|NV): one decode step/{on=1} on{print} /%pFLOP \/ %pBW/{on=0}' "$LOG" | tail -60
echo "---- launch parts (CUDA, then NV; per placement of NV's command memory)"
grep -E '^==== launch parts|^[A-Z]+:$|kernel call|eager op|\.\.\. ' "$LOG" | grep -v 'NVKernel call' | tail -60
grep -E '^  (CUDA|NV) (eager|jit)_us' "$LOG" | tail -8
echo "---- model zoo (bench/models.py)"
grep -E '^(==== models|baregrad device|model  |MobileNetV2|ResNet|MiniLM|GPT-2|SmolLM2|load average)' "$LOG" | tail -24
echo "---- bench table (last)"
awk '/^benchmark /{buf=""} /^benchmark /,/^\(ratios/{buf=buf $0 "\n"} END{printf "%s", buf}' "$LOG"
