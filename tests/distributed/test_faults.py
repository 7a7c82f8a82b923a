"""A rank that dies mid-step makes the survivor raise DistributedError within the timeout, never hang."""
import time

from tests.distributed.mpi_helpers import require_mpi, run_ranks


def test_dead_rank_raises_distributed_error_within_timeout():
    require_mpi()
    start = time.monotonic()
    r = run_ranks(2, "fault_worker.py", timeout=60, dist_timeout=2)
    elapsed = time.monotonic() - start
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "[0] DistributedError after" in out and "timed out after 2 s" in out, out[-3000:]
    waited = float(out.split("DistributedError after ")[1].split(" s")[0])
    assert 1.5 <= waited < 10, waited  # the deadline, not a hang (and not an instant failure)
    assert elapsed < 60
    assert "no error" not in out
