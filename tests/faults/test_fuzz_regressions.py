"""Inputs the loader fuzzing (bench/fuzz.py) turned up, kept as bytes: each must give a baregrad FormatError and
nothing else -- no other exception, and no warning."""
from __future__ import annotations

import warnings

import pytest

from baregrad.errors import FormatError
from baregrad.nn.state import load_numpy_pickle, safe_unpickle

# A protocol-0 STRING with an invalid escape: pickletools warned (DeprecationWarning "invalid escape sequence")
# while pre-scanning, once per file, and the stream went on to load. Found in the warnings summary of
# tests/faults/test_fuzz_harness.py's numpy_pickle and torch_pickle mutations.
INVALID_ESCAPE = b"S'\\?'\np0\n."
INVALID_ESCAPE_UNICODE = b"(S'\\\xc3\xa1'\np0\nt."


@pytest.mark.parametrize("data", [INVALID_ESCAPE, INVALID_ESCAPE_UNICODE], ids=["ascii", "latin1"])
@pytest.mark.parametrize("loader", [lambda d: load_numpy_pickle(d, what="fuzz"), lambda d: safe_unpickle(d, set())],
                         ids=["numpy_pickle", "safe_unpickle"])
def test_invalid_string_escape_is_a_format_error_without_warnings(data, loader):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(FormatError, match="invalid escape"):
            loader(data)
    assert [str(w.message) for w in caught] == []
