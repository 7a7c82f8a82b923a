"""DistributedSampler: the ranks' shares partition the (padded) permutation, as torch's does."""
import pytest

from baregrad.errors import ArgumentError
from baregrad.nn.parallel import DistributedSampler


@pytest.mark.parametrize("n,world,drop_last", [(10, 3, False), (10, 3, True), (8, 2, False), (5, 4, False)])
def test_shares_cover_the_dataset(n, world, drop_last):
    torch_data = pytest.importorskip("torch.utils.data.distributed")
    shares = [list(DistributedSampler(range(n), world, r, shuffle=False, drop_last=drop_last)) for r in range(world)]
    ref = [list(torch_data.DistributedSampler(range(n), world, r, shuffle=False, drop_last=drop_last))
           for r in range(world)]
    assert shares == ref
    shuffled = []
    for r in range(world):
        s = DistributedSampler(range(n), world, r, shuffle=True, seed=3, drop_last=drop_last)
        s.set_epoch(2)
        shuffled.append(list(s))
        assert len(s) == len(shuffled[-1])
    flat = sorted(i for share in shuffled for i in share)
    assert set(flat) <= set(range(n)) and len(flat) == sum(len(s) for s in shares)
    if not drop_last:
        assert set(flat) == set(range(n))


def test_bad_rank():
    with pytest.raises(ArgumentError, match="rank 2"):
        DistributedSampler(range(4), 2, 2)
