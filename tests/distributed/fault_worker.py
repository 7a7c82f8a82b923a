"""Run on 2 ranks by test_faults.py: rank 1 dies in the middle of a training step; rank 0 must raise
DistributedError within the timeout rather than hang."""
import os
import time

import baregrad as bg
import baregrad.distributed as dist

dist.init_process_group("mpi")
x = bg.ones(1000)
dist.all_reduce(x)
assert x.numpy()[0] == 2
if dist.get_rank() == 1:
    os._exit(3)  # dies without a word, mid-step
start = time.monotonic()
try:
    dist.all_reduce(x)
except dist.DistributedError as e:
    print(f"DistributedError after {time.monotonic() - start:.2f} s: {e}", flush=True)
    raise
print("no error", flush=True)
