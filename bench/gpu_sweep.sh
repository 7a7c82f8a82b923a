#!/usr/bin/env bash
# Sweep of the GPU kernel knobs on a lent GPU (device tool: run(command="bash bench/gpu_sweep.sh", timeout_s=300)):
# the tensor-core matmul tile (BAREGRAD_TC_TILE="bm,bn,bk,warps_m,warps_n,stages", codegen/gpu.py, render/gpu/tc_pipeline.py) and the
# chunks per thread of elementwise kernels (BAREGRAD_GPU_UNROLL, codegen/gpu.py), each measured by bench/gpu.py on
# CUDA, after the matmul tests pass with that tile. The defaults in the code are what this sweep found best.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 BAREGRAD_CACHE=/tmp/baregrad_cache
PY=${PY:-python3}
TILES=${TILES:-"128,128,32,2,4,2 128,128,32,2,4,3 128,128,32,2,2,3 128,256,32,2,4,3 128,128,64,2,4,3 256,128,32,4,2,3"}
for tile in $TILES; do
  echo "==== tile $tile"
  BAREGRAD_TC_TILE=$tile BAREGRAD_TEST_DEVICES=CUDA timeout 60 $PY -m pytest -q -p no:cacheprovider -x \
    tests/ops/test_matmul.py 2>&1 | tail -1
  BAREGRAD_TC_TILE=$tile timeout 60 $PY bench/gpu.py --devices CUDA --no-torch \
    --rows matmul_float16,matmul_bfloat16 2>&1 | grep -E "^  matmul|failed"
done
for unroll in ${UNROLLS:-1 2 4 8}; do
  echo "==== unroll $unroll"
  BAREGRAD_GPU_UNROLL=$unroll timeout 60 $PY bench/gpu.py --devices CUDA --no-torch --rows elementwise 2>&1 \
    | grep -E "^  elementwise|failed"
done
