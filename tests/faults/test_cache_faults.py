"""Faults in the on-disk compile cache, injected for real: damaged files, two processes at once, a read-only or full
cache directory. Each ends in a correct result with at most one CacheWarning, never a crash."""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import baregrad as bg
from baregrad import stats
from baregrad.device.compile_cache import EntryRecord, cache_key, cached_build
from baregrad.engine import realize
from baregrad.errors import CacheWarning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif("CPU" not in [s.name for s in bg.devices() if s.works], reason="needs the CPU device")


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREGRAD_CACHE", str(tmp_path / "cache"))
    realize.clear_caches()
    yield tmp_path / "cache"
    realize.clear_caches()


def _run_kernel(seed: int = 0) -> None:
    """(x * 3 + 1) on CPU, compared with numpy."""
    x = np.random.default_rng(seed).standard_normal(17).astype(np.float32)
    np.testing.assert_allclose((bg.Tensor(x, device="CPU") * 3 + 1).numpy(), x * 3 + 1, rtol=1.3e-6, atol=1e-5)


def _cache_warnings(fn) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]


def _records(cache_root) -> list[str]:
    return glob.glob(os.path.join(str(cache_root), "*", "*.entry"))


def _binary_of(record_path: str) -> str:
    with open(record_path, "rb") as f:
        return os.path.join(os.path.dirname(record_path), json.loads(f.read())["binary"])


def _rewrite_record(record_path: str, **changes) -> None:
    with open(record_path, "rb") as f:
        fields = json.loads(f.read())
    fields.update(changes)
    with open(record_path, "w") as f:
        json.dump(fields, f)


def _replace_file(path: str, data: bytes) -> None:
    # a new inode: the loaded library is mapped and must not change under the running process
    with open(path + ".new", "wb") as f:
        f.write(data)
    os.replace(path + ".new", path)


DAMAGE = {
    "record_random_bytes": lambda rec: _replace_file(rec, os.urandom(64)),
    "record_truncated": lambda rec: _replace_file(rec, Path(rec).read_bytes()[:20]),
    "record_empty": lambda rec: _replace_file(rec, b""),
    "record_nested_json": lambda rec: _replace_file(rec, b"[" * 60000),
    "binary_random_bytes": lambda rec: _replace_file(_binary_of(rec), os.urandom(os.path.getsize(_binary_of(rec)))),
    "binary_truncated": lambda rec: _replace_file(_binary_of(rec), Path(_binary_of(rec)).read_bytes()[:100]),
    "binary_wrong_size": lambda rec: _replace_file(_binary_of(rec), Path(_binary_of(rec)).read_bytes() + b"\0" * 8),
    "binary_missing": lambda rec: os.unlink(_binary_of(rec)),
    "binary_for_another_cpu": lambda rec: _rewrite_record(rec, target="cpu-0123456789abcdef"),
    "stale_format_version": lambda rec: _rewrite_record(rec, version=1),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_entry_is_rebuilt_with_one_warning(cache, damage):
    _run_kernel()
    records = _records(cache)
    assert records, "the kernel left no cache entry"
    for rec in records:
        DAMAGE[damage](rec)
    realize.clear_caches()
    before = stats.counters()["compiles"]
    messages = _cache_warnings(lambda: _run_kernel(1))
    assert len(messages) == len(records) and all("damaged" in m for m in messages), messages
    assert stats.counters()["compiles"] == before + len(records)
    for rec in _records(cache):  # the rebuilt entries verify: a third run compiles nothing and warns nothing
        EntryRecord.decode(Path(rec).read_bytes())
    realize.clear_caches()
    before = stats.counters()["compiles"]
    assert _cache_warnings(lambda: _run_kernel(2)) == []
    assert stats.counters()["compiles"] == before


def test_record_naming_a_file_outside_its_folder_is_refused(cache):
    _run_kernel()
    for rec in _records(cache):
        _rewrite_record(rec, binary="../../etc/passwd")
    realize.clear_caches()
    assert len(_cache_warnings(_run_kernel)) == len(_records(cache))


_RACER = textwrap.dedent("""
    import os, sys, time
    sys.path.insert(0, {root!r})
    import numpy as np
    from baregrad.device.compile_cache import cached_build
    go = {go!r}
    while not os.path.exists(go):
        time.sleep(0.001)
    if sys.argv[1] == "kernel":
        import baregrad as bg
        x = np.arange(64, dtype=np.float32)
        assert np.allclose((bg.Tensor(x, device="CPU") * 3 + 1).numpy(), x * 3 + 1)
    else:
        def slow_build(path):  # a slow, nondeterministic "compiler": the worst case for two writers
            with open(path, "wb") as f:
                for _ in range(20):
                    f.write(sys.argv[1].encode() * 1000)
                    f.flush()
                    time.sleep(0.005)
        path = cached_build("ab" * 16, ".bin", slow_build)
        with open(path, "rb") as f:  # its own build, or the other's if that was whole before this one looked
            assert f.read() in (b"A" * 20000, b"B" * 20000)
    print("ok")
""")


@pytest.mark.parametrize("what", ["kernel", "slow_builder"])
def test_two_processes_compiling_the_same_entry_both_succeed(cache, tmp_path, what):
    go = str(tmp_path / "go")
    script = _RACER.format(root=ROOT, go=go)
    args = [["kernel"], ["kernel"]] if what == "kernel" else [["A"], ["B"]]
    env = dict(os.environ, BAREGRAD_CACHE=str(cache), BAREGRAD_DEVICE="CPU")
    procs = [subprocess.Popen([sys.executable, "-c", script, *a], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for a in args]
    open(go, "w").close()
    results = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, results):
        assert p.returncode == 0 and out.strip() == "ok", err
        assert "CacheWarning" not in err, err
    leftovers = [f for f in glob.glob(os.path.join(str(cache), "*", "*")) if os.path.basename(f).startswith(".")]
    assert leftovers == [], "temporary files left in the cache"
    records = _records(cache)
    assert records
    for rec in records:  # one record per key, and what it names is whole
        record = EntryRecord.decode(Path(rec).read_bytes())
        assert os.path.getsize(_binary_of(rec)) == record.size


def _assert_runs_without_disk_cache(cache_root) -> None:
    messages = _cache_warnings(lambda: (_run_kernel(0), (bg.Tensor([1.0, 2.0], device="CPU").exp() * 2).numpy()))
    assert len(messages) == 1 and "running without the disk cache" in messages[0], messages
    realize.clear_caches()
    assert _cache_warnings(lambda: _run_kernel(5)) == []  # the private cache serves the rest of the process


def test_cache_dir_under_a_regular_file(tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("BAREGRAD_CACHE", str(blocker / "cache"))
    realize.clear_caches()
    _assert_runs_without_disk_cache(blocker / "cache")


def _chattr(flag: str, path: str) -> bool:
    try:
        return subprocess.run(["chattr", flag, path], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_read_only_cache_dir(tmp_path, monkeypatch):
    """Read-only for root too: an immutable directory (chattr +i) refuses new files even to root."""
    cache_root = tmp_path / "cache"
    cache_root.mkdir()
    if not _chattr("+i", str(cache_root)):
        pytest.skip("chattr +i is not available or not supported on this filesystem")
    try:
        try:
            open(cache_root / "probe", "w").close()
            pytest.skip("an immutable directory still accepts files here")
        except OSError:
            pass
        monkeypatch.setenv("BAREGRAD_CACHE", str(cache_root))
        realize.clear_caches()
        _assert_runs_without_disk_cache(cache_root)
        assert os.listdir(cache_root) == []
    finally:
        _chattr("-i", str(cache_root))
        realize.clear_caches()


_FULL_DISK = textwrap.dedent("""
    import os, sys, warnings
    sys.path.insert(0, {root!r})
    cache = sys.argv[1]
    fd = os.open(os.path.join(cache, "filler"), os.O_WRONLY | os.O_CREAT)
    try:  # fill the small filesystem to the last byte
        while True:
            os.write(fd, b"x" * 512)
    except OSError:
        os.close(fd)
    import numpy as np
    import baregrad as bg
    from baregrad.errors import CacheWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = np.arange(10, dtype=np.float32)
        assert np.allclose((bg.Tensor(x, device="CPU") * 3 + 1).numpy(), x * 3 + 1)
        assert np.allclose((bg.Tensor(x, device="CPU").exp()).numpy(), np.exp(x), rtol=1e-5)
    found = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
    assert len(found) == 1 and "without the disk cache" in found[0], found
    print("ok")
""")


def test_full_cache_disk(tmp_path):
    """A real full filesystem: a 256 KiB tmpfs filled up, in a private mount namespace (nothing leaks out)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) to mount a small tmpfs privately")
    mnt = tmp_path / "small"
    mnt.mkdir()
    script = _FULL_DISK.format(root=ROOT)
    shell = f'mount -t tmpfs -o size=256k tmpfs "{mnt}" || exit 77; exec "{sys.executable}" -c "$0" "{mnt}"'
    env = dict(os.environ, BAREGRAD_CACHE=str(mnt), BAREGRAD_DEVICE="CPU")
    p = subprocess.run(["unshare", "-m", "sh", "-c", shell, script], env=env, capture_output=True, text=True,
                       timeout=120, check=False)
    if p.returncode == 77 or "unshare failed" in p.stderr:
        pytest.skip(f"cannot mount a tmpfs in a private namespace here: {p.stderr.strip()[:200]}")
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


def test_unit_target_mismatch_rebuilds(cache):
    built: list[str] = []

    def build(path: str) -> None:
        built.append(path)
        with open(path, "wb") as f:
            f.write(b"binary for " + str(len(built)).encode())

    key = cache_key("unit")
    cached_build(key, ".bin", build, target="sm_80")
    messages = _cache_warnings(lambda: cached_build(key, ".bin", build, target="sm_90"))
    assert len(built) == 2 and len(messages) == 1 and "sm_80" in messages[0]
