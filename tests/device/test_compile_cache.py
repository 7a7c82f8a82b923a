"""The on-disk compile cache: hits are reused, and a corrupted or truncated entry is rebuilt, never loaded."""
import os
import warnings

import pytest

from baregrad import stats
from baregrad.device.compile_cache import cache_key, cached_build
from baregrad.errors import CacheWarning


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREGRAD_CACHE", str(tmp_path))
    return tmp_path


def _writer(content: bytes, calls: list):
    def build(path: str) -> None:
        calls.append(path)
        with open(path, "wb") as f:
            f.write(content)
    return build


def test_hit_does_not_rebuild(cache):
    calls: list = []
    key = cache_key("source", "compiler", "flags")
    first = cached_build(key, ".bin", _writer(b"binary", calls))
    second = cached_build(key, ".bin", _writer(b"binary", calls))
    assert first == second and len(calls) == 1
    assert open(first, "rb").read() == b"binary"


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_digest"])
def test_damaged_entry_is_rebuilt(cache, damage):
    calls: list = []
    key = cache_key("another source")
    path = cached_build(key, ".bin", _writer(b"good binary content", calls))
    if damage == "truncate":
        with open(path, "r+b") as f:
            f.truncate(4)
    elif damage == "flip":
        with open(path, "r+b") as f:
            f.write(b"G00d")
    else:
        os.unlink(os.path.join(os.path.dirname(path), key + ".entry"))
    before = stats.counters()["compiles"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = cached_build(key, ".bin", _writer(b"good binary content", calls))
    # a missing record is a plain miss; a binary that does not match its record is damage, said once
    assert len([w for w in caught if issubclass(w.category, CacheWarning)]) == (damage != "delete_digest")
    assert len(calls) == 2, "the damaged entry must be rebuilt"
    assert open(again, "rb").read() == b"good binary content"
    assert stats.counters()["compiles"] == before + 1


def test_cpu_kernel_survives_a_truncated_shared_object(cache):
    import baregrad as bg
    from baregrad.engine import realize
    realize.clear_caches()
    x = bg.Tensor([1.0, 2.0, 3.0], device="CPU")
    assert (x * 2 + 1).tolist() == [3.0, 5.0, 7.0]
    for root, _, files in os.walk(cache):
        for name in files:
            if name.endswith(".so"):
                # a new, truncated file (a loaded library must not be changed in place: it is mapped)
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    head = f.read(100)
                with open(path + ".tmp", "wb") as f:
                    f.write(head)
                os.replace(path + ".tmp", path)
    realize.clear_caches()
    before = stats.counters()["compiles"]
    y = bg.Tensor([4.0, 5.0, 6.0], device="CPU")
    with pytest.warns(CacheWarning, match="has 100 bytes"):
        assert (y * 2 + 1).tolist() == [9.0, 11.0, 13.0]
    assert stats.counters()["compiles"] > before
