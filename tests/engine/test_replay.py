"""engine.replay: a captured plan computes what eager does (against torch), runs again over its buffers, rebinds to
other buffers of the same dtypes and shapes, and refuses others with a clear error; other shapes make a new plan."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import baregrad as bg
from baregrad import stats
from baregrad.device import get_device
from baregrad.engine import capture as jit_capture
from baregrad.engine import replay
from baregrad.ir.node import Node
from baregrad.ir.ops import Op
from tests.helpers import compare

RNG = np.random.default_rng(20)


def _random(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _write(target: bg.Tensor, value: bg.Tensor) -> bg.Tensor:
    """A lazy write of `value` into the realized `target`, leaving `target` itself a plain buffer (as a model's
    persistent state is): reading `target` then shows what the plan's runs wrote."""
    return bg.Tensor.from_node(Node(Op.ASSIGN, target.dtype, (target.node, value.node)), target.device)


def _graph(a: bg.Tensor, b: bg.Tensor, c: bg.Tensor) -> bg.Tensor:
    return ((a @ b).relu() + c).softmax(-1)


def _torch_graph(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return ((torch.tensor(a) @ torch.tensor(b)).relu() + torch.tensor(c)).softmax(-1).numpy()


def test_a_replay_computes_what_eager_does_and_rebinds_to_new_buffers(device):
    arrays = [_random(5, 6), _random(6, 7), _random(7)]
    a, b, c = (bg.Tensor(x, device=device) for x in arrays)
    plan = replay.capture([_graph(a, b, c).node], get_device(device))
    assert plan.allocates  # a plain lazy target: each run returns a fresh buffer
    (first,) = plan.run()
    (second,) = plan.run()
    assert first is not second
    expected = _torch_graph(*arrays)
    compare(np.frombuffer(first.to_bytes(), np.float32).reshape(5, 7), expected)
    compare(np.frombuffer(second.to_bytes(), np.float32).reshape(5, 7), expected)
    compare(_graph(a, b, c).numpy(), expected)  # eager agrees
    # the same kernels over other buffers: the plan lists its inputs in slot order, so map each to its new one
    new_arrays = [_random(5, 6), _random(6, 7), _random(7)]
    new = {id(t.node.arg): bg.Tensor(x, device=device).node.arg for t, x in zip((a, b, c), new_arrays)}
    (out,) = plan.run([new[id(buf)] for buf in plan.inputs])
    compare(np.frombuffer(out.to_bytes(), np.float32).reshape(5, 7), _torch_graph(*new_arrays))


def test_a_plan_of_writes_replays_its_launches_over_persistent_buffers(device):
    x_data = _random(4, 8)
    x, acc = bg.Tensor(x_data, device=device), bg.Tensor(np.zeros((4, 8), np.float32), device=device)
    plan = replay.capture([_write(acc, acc + x * 2).node], get_device(device))
    assert not plan.allocates and plan.n_kernels == 1
    before = stats.counters()["kernels"]
    for _ in range(3):
        (written,) = plan.run()
    assert written is acc.node.arg and stats.counters()["kernels"] - before == 3
    compare(acc.numpy(), 3 * 2 * x_data)
    x_next = _random(4, 8)
    x.node.arg.copyin(x_next.tobytes())  # new data in the same buffer: the next run reads it
    plan.run()
    compare(acc.numpy(), 3 * 2 * x_data + 2 * x_next)
    # rebound to another accumulator and input: the fixed kernel arguments are resolved again
    other_x, other_acc = bg.Tensor(x_next, device=device), bg.Tensor(x_data, device=device)
    swap = {id(x.node.arg): other_x.node.arg, id(acc.node.arg): other_acc.node.arg}
    plan.run([swap[id(buf)] for buf in plan.inputs])
    compare(other_acc.numpy(), x_data + 2 * x_next)
    compare(acc.numpy(), 3 * 2 * x_data + 2 * x_next)  # the old accumulator is left alone


def test_graphs_of_one_structure_share_a_schedule_and_other_shapes_get_their_own():
    device = get_device(None)
    small = [bg.Tensor(_random(*s), device=device.name) for s in ((5, 6), (6, 7), (7,))]
    again = [bg.Tensor(_random(*s), device=device.name) for s in ((5, 6), (6, 7), (7,))]
    larger = [bg.Tensor(_random(*s), device=device.name) for s in ((9, 6), (6, 3), (3,))]
    plan = replay.capture([_graph(*small).node], device)
    assert replay.capture([_graph(*again).node], device).schedule is plan.schedule
    other = replay.capture([_graph(*larger).node], device)
    assert other.schedule is not plan.schedule
    (out,) = other.run()
    compare(np.frombuffer(out.to_bytes(), np.float32).reshape(9, 3),
            _torch_graph(*(t.numpy() for t in larger)))


def test_binding_buffers_the_kernels_were_not_compiled_for_raises():
    device = get_device(None)
    a, b, c = (bg.Tensor(_random(*s), device=device.name) for s in ((5, 6), (6, 7), (7,)))
    plan = replay.capture([_graph(a, b, c).node], device)
    inputs = list(plan.inputs)
    wrong_shape = bg.Tensor(_random(6, 5), device=device.name).node.arg
    with pytest.raises(bg.errors.ShapeError, match=r"shape \[6, 5\] where the plan was captured with \[5, 6\]"):
        plan.run([wrong_shape] + inputs[1:])
    wrong_dtype = bg.Tensor(np.zeros((5, 6), np.int32), device=device.name).node.arg
    with pytest.raises(bg.errors.DTypeError, match=r"int32\[5, 6\] where the plan was captured with float32"):
        plan.run([wrong_dtype] + inputs[1:])
    with pytest.raises(bg.errors.ArgumentError, match="takes 3 input buffers, got 2"):
        plan.run(inputs[:2])
    with pytest.raises(bg.errors.ArgumentError, match="at least one target"):
        replay.capture([], device)
    (out,) = plan.run()  # the refused bindings left the plan as it was
    compare(np.frombuffer(out.to_bytes(), np.float32).reshape(5, 7),
            _torch_graph(a.numpy(), b.numpy(), c.numpy()))


def test_a_run_inside_a_jit_capture_is_recorded():
    """While the JIT records, a plan's launches go through the engine's launch loop, so the recording holds them
    (a fixed launch list would bypass it and the replay would miss these kernels)."""
    device = get_device(None)
    x, acc = bg.Tensor(_random(8), device=device.name), bg.Tensor(np.zeros(8, np.float32), device=device.name)
    plan = replay.capture([_write(acc, acc + x).node], device)
    plan.run()  # resolves the fixed launch list
    recording = jit_capture.start()
    try:
        plan.run()
    finally:
        jit_capture.stop()
    assert len(recording.launches) == plan.n_kernels == 1
    assert recording.launches[0].buffers[0] is acc.node.arg
    compare(acc.numpy(), 2 * x.numpy())
