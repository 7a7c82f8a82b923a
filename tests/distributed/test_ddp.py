"""DDP on 2 ranks (half the global batch each, with a no_sync accumulation step) ends with the same weights as one
process trained on the whole batch; rank 0's checkpoint reads back on every rank."""
import numpy as np

import baregrad as bg
from tests.distributed.mpi_helpers import require_mpi, run_ranks


def test_ddp_two_ranks_match_one_process(tmp_path):
    require_mpi()
    one, two = str(tmp_path / "one.pt"), str(tmp_path / "two.pt")
    r1 = run_ranks(1, "ddp_worker.py", one, "3", "16", "1", timeout=120)
    assert r1.returncode == 0, r1.stdout[-3000:] + r1.stderr[-3000:]
    r2 = run_ranks(2, "ddp_worker.py", two, "3", "16", "2", timeout=120)
    assert r2.returncode == 0, r2.stdout[-3000:] + r2.stderr[-3000:]
    a, b = bg.load(one), bg.load(two)
    assert a.keys() == b.keys() and len(a) == 6
    for k in a:
        np.testing.assert_allclose(b[k].numpy(), a[k].numpy(), rtol=1e-5, atol=1e-5, err_msg=k)
