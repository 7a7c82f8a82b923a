"""Ctrl-C (a real SIGINT sent to this process) in the middle of a realize, a compile, a checkpoint load and an LLM
generation: each raises KeyboardInterrupt, and afterwards baregrad works -- the next op is right, nothing is
half-written in the compile cache, no thread or compiler process is left behind. And `baregrad serve` on SIGTERM
ends its in-flight stream properly and exits 0."""
from __future__ import annotations

import glob
import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import baregrad as bg
from baregrad.engine import realize

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(FIXTURES))
from fake_llm import FakeModel  # noqa: E402 - found through the sys.path entry above

needs_cpu = pytest.mark.skipif("CPU" not in [s.name for s in bg.devices() if s.works], reason="needs the CPU device")


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


def _children() -> set[int]:
    """This process's child processes that still run (a killed child not yet reaped, a zombie, does not)."""
    pids: set[int] = set()
    for path in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
        with open(path) as f:
            pids.update(int(p) for p in f.read().split())
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X"):
            running.add(pid)
    return running


@pytest.fixture(autouse=True)
def python_sigint_handler():
    """Python's own SIGINT handler, installed at the C level. In one full-suite run (pytest-xdist, a worker that had
    run ~1,000 other tests) every Ctrl-C test here saw no KeyboardInterrupt at all, while each passes alone and
    with the faults, engine and profile suites before it: a native library loaded by an earlier test in that worker
    had evidently replaced the process's handler. Re-installing it keeps these tests about baregrad's behaviour;
    the warning keeps the replacement visible."""
    found = signal.getsignal(signal.SIGINT)
    if found is not signal.default_int_handler or not _sigint_raises():
        warnings.warn(f"SIGINT's handler had been replaced in this process (Python sees {found!r}); Python's own "
                      "was re-installed", stacklevel=2)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    yield


def _sigint_raises() -> bool:
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs at the next bytecode after the signal arrives
    except KeyboardInterrupt:
        return True
    return False


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREGRAD_CACHE", str(tmp_path / "cache"))
    realize.clear_caches()
    yield tmp_path / "cache"
    realize.clear_caches()


def _assert_cache_whole(cache_root) -> None:
    """Every file in the cache is a record that decodes or the whole binary a record names: nothing else."""
    from baregrad.device.compile_cache import EntryRecord
    files = set(glob.glob(os.path.join(str(cache_root), "*", "*")))
    wanted = set()
    for path in [f for f in files if f.endswith(".entry")]:
        record = EntryRecord.decode(Path(path).read_bytes())
        binary = os.path.join(os.path.dirname(path), record.binary)
        assert os.path.getsize(binary) == record.size
        wanted |= {path, binary}
    assert files == wanted, f"files in the compile cache that no entry accounts for: {sorted(files - wanted)}"


@needs_cpu
def test_ctrl_c_during_a_long_realize(cache, monkeypatch):
    from baregrad.device import cpu
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((32, 32)).astype(np.float32)
    ws = [rng.standard_normal((32, 32)).astype(np.float32) / 6 for _ in range(12)]

    def chain():
        x = bg.Tensor(x0, device="CPU")
        for w in ws:  # one matmul kernel each: a realize that launches a dozen kernels
            x = (x @ bg.Tensor(w, device="CPU")).relu()
        return x

    expected = x0
    for w in ws:
        expected = np.maximum(expected @ w, 0)
    threads = set(threading.enumerate())
    launches = []
    original = cpu._CPUProgram.__call__

    def launch_then_interrupt(self, *args):
        launches.append(1)
        original(self, *args)
        if len(launches) == 5:
            _ctrl_c()  # the handler runs at the next bytecode: in the engine, between two kernels

    monkeypatch.setattr(cpu._CPUProgram, "__call__", launch_then_interrupt)
    y = chain()
    with pytest.raises(KeyboardInterrupt):
        y.numpy()
    assert len(launches) == 5
    monkeypatch.setattr(cpu._CPUProgram, "__call__", original)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-4, atol=1e-5)  # the interrupted tensor realizes
    np.testing.assert_allclose(chain().numpy(), expected, rtol=1e-4, atol=1e-5)
    assert set(threading.enumerate()) - threads == set()
    _assert_cache_whole(cache)


@needs_cpu
def test_ctrl_c_during_an_in_place_write(cache, monkeypatch):
    """An interrupted `x.assign(...)` (an optimizer step, a KV-cache write) leaves x whole: reading it finishes the
    write, never a mixture of old and new values, never an error."""
    from baregrad.device import cpu
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((32, 32)).astype(np.float32)
    ws = [rng.standard_normal((32, 32)).astype(np.float32) / 6 for _ in range(12)]
    x = bg.Tensor(x0.copy(), device="CPU").realize()
    y = x
    expected = x0
    for w in ws:
        y = (y @ bg.Tensor(w, device="CPU")).relu()
        expected = np.maximum(expected @ w, 0)
    original, launches = cpu._CPUProgram.__call__, []

    def launch_then_interrupt(self, *args):
        launches.append(1)
        original(self, *args)
        if len(launches) == 5:
            _ctrl_c()

    monkeypatch.setattr(cpu._CPUProgram, "__call__", launch_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        x.assign(y).realize()
    monkeypatch.setattr(cpu._CPUProgram, "__call__", original)
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose((x + 1).numpy(), expected + 1, rtol=1e-4, atol=1e-5)


@needs_cpu
def test_ctrl_c_during_a_compile(cache, tmp_path, monkeypatch):
    from baregrad.device import get_device
    device = get_device("CPU")
    slow_cc = tmp_path / "slow_cc"
    slow_cc.write_text(f"#!/bin/sh\nsleep 2\nexec {device.cc} \"$@\"\n")
    slow_cc.chmod(0o755)
    monkeypatch.setattr(device, "cc", str(slow_cc))
    threads, children = set(threading.enumerate()), _children()
    x = np.arange(12, dtype=np.float32)
    timer = threading.Timer(0.3, _ctrl_c)  # lands while the compiler runs
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        (bg.Tensor(x, device="CPU") * 7 - 2).numpy()
    timer.join()
    assert time.monotonic() - started < 1.9, "the interrupt waited for the compiler"
    _assert_cache_whole(cache)
    assert glob.glob(os.path.join(str(cache), "*", "*.entry")) == [], "an interrupted compile left an entry"
    deadline = time.monotonic() + 1  # SIGKILL was sent: it ends in ms (unkilled, `sleep 2` would run on)
    while _children() - children and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _children() - children == set(), "the compiler process was left running"
    monkeypatch.undo()  # the real compiler again
    np.testing.assert_allclose((bg.Tensor(x, device="CPU") * 7 - 2).numpy(), x * 7 - 2)
    _assert_cache_whole(cache)
    assert set(threading.enumerate()) - threads == set()


def test_ctrl_c_during_a_checkpoint_load(tmp_path, monkeypatch):
    from baregrad.tensor import Tensor
    rng = np.random.default_rng(1)
    arrays = {f"layer{i}.weight": rng.standard_normal((16, 8)).astype(np.float32) for i in range(8)}
    path = tmp_path / "model.pt"
    bg.save({k: bg.Tensor(v) for k, v in arrays.items()}, path)
    original = Tensor.from_bytes
    made = []

    def from_bytes_then_interrupt(*args, **kwargs):
        made.append(1)
        if len(made) == 3:
            _ctrl_c()
        return original(*args, **kwargs)

    monkeypatch.setattr(Tensor, "from_bytes", staticmethod(from_bytes_then_interrupt))
    threads = set(threading.enumerate())
    with pytest.raises(KeyboardInterrupt):
        bg.load(path)
    monkeypatch.undo()
    loaded = bg.load(path)  # the file and the loader are fine
    assert set(loaded) == set(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(loaded[k].numpy(), v)
    assert set(threading.enumerate()) - threads == set()


def test_ctrl_c_during_llm_generation():
    from baregrad.models.generate import complete
    from baregrad.models.sampling import SamplingParams

    class InterruptedModel(FakeModel):
        interrupt_at = 6

        def forward(self, token_ids, start_pos):
            if len(self.calls) == self.interrupt_at:
                _ctrl_c()
            return super().forward(token_ids, start_pos)

    replies = {"France": "Paris is the capital of France."}
    prompt = FakeModel().tokenizer.encode("<|im_start|>user\nFrance?<|im_end|>\n<|im_start|>assistant\n")
    params = SamplingParams(max_tokens=64, temperature=0.0)
    expected = complete(FakeModel(replies), prompt, params)
    model = InterruptedModel(replies)
    with pytest.raises(KeyboardInterrupt):
        complete(model, prompt, params)
    model.interrupt_at = -1
    again = complete(model, prompt, params)  # the KV cache is not trusted after the interrupt
    assert again.text == expected.text == "Paris is the capital of France."
    assert again.finish_reason == expected.finish_reason


_SERVER = textwrap.dedent("""
    import sys
    sys.path[:0] = [{root!r}, {fixtures!r}]
    from fake_llm import FakeModel  # noqa: E402 - found through the sys.path entry above
    from baregrad.serve import serve
    serve(FakeModel({{"France": "Paris is the capital of France. " * 20}}, max_context=2048, delay=0.02),
          port=0, model_name="fake")
""")


def _post(port: int, body: dict) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"Content-Type": "application/json"})
    return conn.getresponse()


def test_serve_on_sigterm_ends_streams_and_exits_0():
    proc = subprocess.Popen([sys.executable, "-c", _SERVER.format(root=str(ROOT), fixtures=str(FIXTURES))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "serving fake at http://127.0.0.1:" in line, proc.stderr.read() if proc.poll() is not None else line
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        response = _post(port, {"model": "fake", "stream": True, "max_tokens": 600,
                                "messages": [{"role": "user", "content": "France?"}]})
        assert response.status == 200
        events = []
        while len(events) < 5:  # the stream is flowing (600 tokens at 20 ms each would take 12 s)
            line = response.readline()  # decoded from the chunked encoding
            if line.startswith(b"data: "):
                events.append(line[6:].strip())
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rest = response.read()  # http.client checks the chunked encoding's end
        for line in rest.split(b"\n"):
            if line.startswith(b"data: "):
                events.append(line[6:].strip())
        assert events[-1] == b"[DONE]", events[-3:]
        final = json.loads(events[-2])
        assert final["choices"][0]["finish_reason"] in ("length", "stop"), final
        assert proc.wait(timeout=10) == 0, proc.stderr.read()
        assert time.monotonic() - sent < 5, "the server took more than 5 s to stop"
        with pytest.raises(OSError):  # no longer accepting
            _post(port, {"model": "fake", "messages": [{"role": "user", "content": "France?"}]})
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
