"""A process killed with SIGKILL in the middle of bg.save / safe_save leaves the previous checkpoint whole."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import baregrad as bg
from baregrad.nn.state import safe_load, safe_save

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRIES = 2  # per format: each try starts a process (~1 s)
N = 1 << 19  # 2 MiB of float32 per save: long enough that a kill lands inside a write

_SAVER = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    import numpy as np
    import baregrad as bg
    from baregrad.nn.state import safe_save
    fmt, path, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print("ready", flush=True)
    step = start
    while True:  # save until killed; every file ever renamed into place holds one step throughout
        step += 1
        w = bg.Tensor(np.full({n}, step, dtype=np.float32))
        if fmt == "torch":
            bg.save({{"step": step, "w": w}}, path)
        else:
            safe_save({{"w": w}}, path, metadata={{"step": str(step)}})
""")


def _read_step(fmt: str, path: str) -> int:
    if fmt == "torch":
        ckpt = bg.load(path)
        step, w = ckpt["step"], ckpt["w"].numpy()
    else:
        from baregrad.nn.state import safe_load_metadata
        step, w = int(safe_load_metadata(path)["step"]), safe_load(path)["w"].numpy()
    assert w.shape == (N,) and np.all(w == step), "a checkpoint mixing two saves"
    return step


@pytest.mark.parametrize("fmt", ["torch", "safetensors"])
def test_sigkill_during_save_leaves_a_whole_checkpoint(tmp_path, fmt):
    path = str(tmp_path / "ckpt.bin")
    first = bg.Tensor(np.zeros(N, dtype=np.float32))
    if fmt == "torch":
        bg.save({"step": 0, "w": first}, path)
    else:
        safe_save({"w": first}, path, metadata={"step": "0"})
    rng = random.Random(1234)
    script = _SAVER.format(root=ROOT, n=N)
    last = 0
    for _ in range(TRIES):
        proc = subprocess.Popen([sys.executable, "-c", script, fmt, path, str(last)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            time.sleep(rng.uniform(0.05, 0.4))  # a random point in a stream of saves
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stdout.close()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        step = _read_step(fmt, path)  # the file is whole: the previous save, or a complete newer one
        assert step >= last
        last = step
    leftovers = [f for f in os.listdir(tmp_path) if f != "ckpt.bin"]
    # a killed process cannot remove its temporary file; it is never the checkpoint's own name
    assert all(f.endswith(".tmp") and f.startswith(".ckpt.bin.") for f in leftovers), leftovers


def test_exception_during_save_leaves_previous_file_and_no_temporary(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    bg.save({"step": 1}, path)
    with pytest.raises(bg.ArgumentError):
        bg.save({"step": 2, "bad": object()}, path)
    assert bg.load(path)["step"] == 1 and os.listdir(tmp_path) == ["ckpt.pt"]
