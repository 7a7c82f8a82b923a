"""Run an ONNX graph as lazy baregrad ops: each call binds the inputs and walks the nodes in topological order,
so the whole graph is one lazy expression that the engine fuses and schedules like hand-written code.

Values are a Tensor, a list of Tensors (an ONNX sequence) or None (an absent optional). Calls return a dict
{output name: value}. Work that depends only on weights and on the input *shapes* (shape arithmetic, weight
dequantization, Constant nodes) is folded: computed on the first call with a given input signature and reused,
small integer results kept on the host so operators read them without a device sync. That also makes the graph
replayable: `OnnxModel(..., jit=True)` captures the kernels per input signature with `bg.jit` and replays them.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from baregrad.engine.buffer import Buffer
from baregrad.errors import ArgumentError, DTypeError, FormatError, ShapeError
from baregrad.onnx.model import Function, Graph, Model, Node, ValueInfo, dtype_of, type_name
from baregrad.onnx.ops.registry import OpContext, lookup

# ops whose outputs are not a function of their inputs (random), or that run subgraphs: never folded
_NOT_FOLDABLE = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
                 "Bernoulli", "If", "Loop", "Scan", "SequenceMap", "Dropout"}
# ops whose output shape depends on input values even when the other inputs are fixed
_DATA_DEPENDENT_SHAPE = {"NonZero", "Unique", "Compress", "NonMaxSuppression", "If", "Loop", "Scan", "StringSplit",
                         "SequenceMap", "TfIdfVectorizer"}
# ops whose output shape follows from their inputs' shapes alone, whatever the values of any input
_SHAPE_FROM_SHAPES = {
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "Where", "Equal", "Less", "Greater",
    "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "PRelu",
    "MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "Conv", "ConvInteger", "QLinearConv", "ConvTranspose",
    "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization", "Concat", "Gather",
    "GatherElements", "GatherND", "ScatterElements", "ScatterND", "Einsum", "Attention", "QuantizeLinear",
    "DequantizeLinear", "SkipLayerNormalization", "BiasGelu", "FusedMatMul", "MatMulIntegerToFloat", "QGemm",
    "QAttention", "DynamicQuantizeMatMul", "Shape", "Size", "Softmax", "LogSoftmax", "CumSum", "Clip",
    "EmbedLayerNormalization", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
}


@dataclass
class _Plan:
    """A graph's nodes in topological order and, per value name, whether it is foldable (independent of the
    inputs' data) and whether its shape is fixed by the input shapes."""
    order: list[Node]
    foldable: set[str]
    shape_fixed: set[str]


@dataclass
class _Call:
    """State of one model call: the folded values available to it, and whether folding is being recorded."""
    folded: dict[str, Any]
    record: dict[str, Any] | None
    plan_cache: dict[int, _Plan] = field(default_factory=dict)


class OnnxModel:
    """A loaded ONNX model. `model(**inputs)` or `model(x)` -> {output name: Tensor | list | None}.

    Inputs are numpy arrays or baregrad Tensors (moved to the model's device). Dims named in the file (batch,
    sequence) may take any size; fixed dims are checked."""

    def __init__(self, model: Model, device: str | None = None, jit: bool = False):
        from baregrad.device import default_device_name
        self.model = model
        self.device = device or default_device_name()
        self.graph = model.graph
        self._initializers: dict[str, Any] | None = None
        init_names = set(self.graph.initializers) | set(self.graph.sparse_initializers)
        self.inputs: list[ValueInfo] = [v for v in self.graph.inputs if v.name not in init_names]
        self.outputs: list[ValueInfo] = list(self.graph.outputs)
        self._folded: dict[Any, dict[str, Any]] = {}
        self._plans: dict[int, _Plan] = {}
        self._jit = None
        self._no_replay: set[Any] = set()
        known = init_names | {v.name for v in self.graph.inputs}
        self._plans[id(self.graph)] = plan_graph(self.graph, known, {v.name for v in self.graph.inputs})
        if jit:
            from baregrad.tensor_jit import jit as make_jit
            self._jit = make_jit(self._run_tensors)

    # -- public --
    @property
    def input_names(self) -> list[str]:
        return [v.name for v in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [v.name for v in self.outputs]

    @property
    def nodes_in_order(self) -> list[Node]:
        """The top graph's nodes in the order they run (topological, computed once at load)."""
        return list(self._plans[id(self.graph)].order)

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if len(args) > len(self.inputs):
            raise ArgumentError(f"the model takes {len(self.inputs)} inputs ({self.input_names}), got {len(args)}")
        named = dict(zip(self.input_names, args))
        for k, v in kwargs.items():
            if k in named:
                raise ArgumentError(f"input '{k}' given twice")
            named[k] = v
        unknown = set(named) - set(self.input_names)
        if unknown:
            raise ArgumentError(f"unknown inputs {sorted(unknown)}; the model's inputs are {self.input_names}")
        missing = [v.name for v in self.inputs if v.name not in named and not _is_optional(v)]
        if missing:
            raise ArgumentError(f"missing inputs {missing}; the model's inputs are {self.input_names} (pass None "
                                "only for an optional one)")
        tensors = {name: self._as_tensor(name, value) for name, value in named.items()}
        self._check_inputs(tensors)
        values = [tensors.get(n) for n in self.input_names]
        if self._jit is not None:
            key = tuple((t.shape, t.dtype.name) if t is not None else None for t in values)
            if key not in self._no_replay:
                try:
                    return self._jit(*values)
                except ArgumentError as e:
                    if "cannot read tensor values" not in str(e):
                        raise
                    self._no_replay.add(key)  # the graph reads data-dependent values: run it plainly
        return self._run_tensors(*values)

    # -- inputs --
    def _as_tensor(self, name: str, value: Any) -> Any:
        from baregrad.tensor import Tensor
        if value is None:
            return None
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Tensor) for v in value):
            return [v.to(self.device) for v in value]
        t = value if isinstance(value, Tensor) else Tensor(value)
        return t.to(self.device) if t.device != self.device else t

    def _check_inputs(self, tensors: dict[str, Any]) -> None:
        symbols: dict[str, tuple[int, str]] = {}
        for vi in self.inputs:
            t = tensors.get(vi.name)
            if t is None or isinstance(t, list) or vi.type is None or vi.type.kind != "tensor":
                continue
            if vi.type.elem_type:
                want = dtype_of(vi.type.elem_type) if vi.type.elem_type in _KNOWN_CODES else None
                if want is not None and t.dtype is not want:
                    raise DTypeError(f"input '{vi.name}' must be {type_name(vi.type.elem_type)}, got {t.dtype.name}")
            shape = vi.type.shape
            if shape is None:
                continue
            if len(shape) != len(t.shape):
                raise ShapeError(f"input '{vi.name}' must have rank {len(shape)} (shape {_show(shape)}), got "
                                 f"shape {tuple(t.shape)}")
            for i, (want_dim, got) in enumerate(zip(shape, t.shape)):
                if isinstance(want_dim, int) and want_dim != got:
                    raise ShapeError(f"input '{vi.name}' dim {i} must be {want_dim} (shape {_show(shape)}), got "
                                     f"shape {tuple(t.shape)}")
                if isinstance(want_dim, str):
                    seen = symbols.setdefault(want_dim, (got, vi.name))
                    if seen[0] != got:
                        raise ShapeError(f"dim '{want_dim}' is {seen[0]} in input '{seen[1]}' but {got} in input "
                                         f"'{vi.name}' (shape {tuple(t.shape)})")

    # -- running --
    def _initial_values(self) -> dict[str, Any]:
        if self._initializers is None:
            # small ones keep a host copy: a Reshape's shape or a Slice's bounds read from an initializer then need
            # no device read, which a jit capture refuses (replay fell back to the plain run on every such model)
            values = {name: _host_backed(t.to_tensor(self.device)) for name, t in self.graph.initializers.items()}
            for name, s in self.graph.sparse_initializers.items():
                values[name] = s.to_dense().to_tensor(self.device)
            self._initializers = values
        return self._initializers

    def _run_tensors(self, *values: Any) -> dict[str, Any]:
        from baregrad.tensor import realize_all
        key = tuple((tuple(v.shape), v.dtype.name) if v is not None and not isinstance(v, list) else None
                    for v in values)
        folded = self._folded.get(key)
        call = _Call(folded or {}, None if folded is not None else {}, self._plans)
        env = dict(self._initial_values())
        env.update(zip(self.input_names, values))  # None: an empty optional, which ops such as OptionalHasElement read
        outs = run_graph(self.model, self.graph, env, call, self.device, top=True)
        if call.record is not None:
            pending = [v for v in call.record.values()
                       if v is not None and not isinstance(v, list)
                       and (v.numel() <= _HOST_ELEMENTS or _reads_memory(v))]
            realize_all(pending)
            self._folded[key] = {k: _host_backed(v) for k, v in call.record.items()}
        return dict(zip(self.output_names, outs))


def _is_optional(vi: ValueInfo) -> bool:
    return vi.type is not None and vi.type.kind == "optional"


def _reads_memory(t: Any) -> bool:
    """Whether a lazy tensor reads any buffer: a constant broadcast (ConstantOfShape, a folded Range) is left
    lazy, since recomputing it is free and it fuses into its consumer, where a realized copy would cost memory."""
    from baregrad.ir.ops import Op
    stack, seen = [t.node], set()
    while stack:
        n = stack.pop()
        if n.op is Op.BUFFER:
            return True
        for s in n.src:
            if id(s) not in seen:
                seen.add(id(s))
                stack.append(s)
    return False


# ops that window or contract their first input: it is made a kernel boundary (its elementwise producers still fuse
# into the kernel that writes it), so each conv/matmul kernel indexes a buffer instead of re-deriving the whole
# chain of pads and windows above it, which makes lowering slow and recomputes work per output element
_MATERIALIZED_INPUT = {"Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool",
                       "MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "Resize", "Upsample"}


# a softmax over a reduce's output (GlobalAveragePool -> Softmax) gets the reduce computed once: fused, the engine
# recomputes it in both of softmax's passes, and where the two sums round apart by an ulp of a large value,
# exp(x - max) overflows (NaN on CPU for the light models' 1e10 logits)
_SOFTMAX = {"Softmax", "LogSoftmax"}
_VIEW_OPS = ("RESHAPE", "EXPAND", "PERMUTE", "CAST", "MUL")


def _ends_in_reduce(t: Any) -> bool:
    from baregrad.ir.ops import Op
    node = t.node
    for _ in range(8):
        if node.op is Op.REDUCE:
            return True
        if node.op.name not in _VIEW_OPS or not node.src:
            return False
        node = node.src[0]
    return False


def _is_tensor(v: Any) -> bool:
    from baregrad.tensor import Tensor
    return isinstance(v, Tensor)


_KNOWN_CODES = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16}
_HOST_ELEMENTS = 4096  # folded values up to this size also keep a host copy, so ops read them without a sync


def _host_backed(value: Any) -> Any:
    """A realized folded tensor whose data reads need no device sync (so a jit capture may read it)."""
    from baregrad.ir.node import Node as IRNode
    from baregrad.ir.ops import Op
    from baregrad.tensor import Tensor
    if not isinstance(value, Tensor) or value.numel() > _HOST_ELEMENTS or value.node.op is not Op.BUFFER:
        return value
    buf = value.node.arg
    host = HostBuffer(buf.device, buf.dtype, buf.shape, buf.to_bytes())
    return Tensor.from_node(IRNode(Op.BUFFER, value.dtype, (), host), value.device)


class HostBuffer(Buffer):
    """A device buffer that also keeps its bytes on the host: reading it back costs no sync."""
    __slots__ = ("host_bytes",)

    def __init__(self, device: Any, d: Any, shape: tuple[int, ...], data: bytes):
        super().__init__(device, d, shape)
        self.host_bytes = bytes(data)
        if self.nbytes:
            self.copyin(self.host_bytes)

    def to_bytes(self) -> bytes:
        return self.host_bytes


def _show(shape: Sequence[Any]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


# ---------------------------------------------------------------------------------------------------------------
# graph walking


def _subgraphs(node: Node) -> list[Graph]:
    out = []
    for v in node.attributes.values():
        if isinstance(v, Graph):
            out.append(v)
        elif isinstance(v, list) and v and isinstance(v[0], Graph):
            out.extend(v)
    return out


def _free_names(graph: Graph) -> set[str]:
    """Names a graph (and the graphs nested in it) reads from enclosing scopes; iterative."""
    free: set[str] = set()
    stack: list[tuple[Graph, frozenset[str]]] = [(graph, frozenset())]
    while stack:
        g, outer_defined = stack.pop()
        defined = set(outer_defined) | {v.name for v in g.inputs} | set(g.initializers) | \
            set(g.sparse_initializers) | {o for n in g.nodes for o in n.outputs}
        for n in g.nodes:
            free.update(i for i in n.inputs if i and i not in defined)
            for sub in _subgraphs(n):
                stack.append((sub, frozenset(defined)))
        free.update(o.name for o in g.outputs if o.name not in defined)
    return free


def plan_graph(graph: Graph, known: set[str], shape_fixed_inputs: set[str]) -> _Plan:
    """Topological order (Kahn's algorithm, iterative) and the foldable / fixed-shape value sets.
    `known`: names defined before the graph runs (inputs, initializers, outer scope)."""
    producers: dict[str, int] = {}
    for i, n in enumerate(graph.nodes):
        for o in n.outputs:
            if o:
                producers[o] = i
    deps: list[set[int]] = []
    for n in graph.nodes:
        needed = [i for i in n.inputs if i]
        for sub in _subgraphs(n):
            needed.extend(_free_names(sub))
        deps.append({producers[i] for i in needed if i in producers and i not in known})
    users: list[list[int]] = [[] for _ in graph.nodes]
    waiting = [len(d) for d in deps]
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    ready = [i for i, w in enumerate(waiting) if w == 0]
    ready.reverse()
    order: list[int] = []
    while ready:
        i = ready.pop()
        order.append(i)
        for u in users[i]:
            waiting[u] -= 1
            if waiting[u] == 0:
                ready.append(u)
    if len(order) != len(graph.nodes):
        stuck = [graph.nodes[i] for i in range(len(graph.nodes)) if waiting[i] > 0][:3]
        raise FormatError(f"graph '{graph.name}' has a cycle or reads values nothing produces (at nodes "
                          f"{[n.name or n.op_type for n in stuck]})")
    nodes = [graph.nodes[i] for i in order]
    defined = set(known) | set(producers)
    for n in nodes:
        for name in [i for i in n.inputs if i] + [x for sub in _subgraphs(n) for x in _free_names(sub)]:
            if name not in defined:
                raise FormatError(f"node '{n.name or n.op_type}' reads '{name}', which nothing defines")
    for o in graph.outputs:
        if o.name not in defined:
            raise FormatError(f"graph '{graph.name}': output '{o.name}' is produced by no node")
    foldable = set(graph.initializers) | set(graph.sparse_initializers)
    shape_fixed = set(foldable) | set(shape_fixed_inputs)
    for n in nodes:
        ins = [i for i in n.inputs if i]
        if n.op_type in _NOT_FOLDABLE or _subgraphs(n):
            continue
        if n.op_type in ("Shape", "Size") and n.domain == "" and ins and ins[0] in shape_fixed or \
                all(i in foldable for i in ins):
            foldable.update(o for o in n.outputs if o)
        if n.op_type in _DATA_DEPENDENT_SHAPE or not all(i in shape_fixed for i in ins):
            continue
        if n.op_type in _SHAPE_FROM_SHAPES or all(i in foldable for i in ins[1:]):
            shape_fixed.update(o for o in n.outputs if o)
    shape_fixed |= foldable
    return _Plan(nodes, foldable, shape_fixed)


def run_graph(model: Model, graph: Graph, env: dict[str, Any], call: _Call, device: str, top: bool = False,
              opsets: Mapping[str, int] | None = None) -> list[Any]:
    """Run `graph` with `env` holding its inputs, initializers and the enclosing scope; returns its outputs."""
    plan = call.plan_cache.get(id(graph))
    if plan is None:
        inputs = {v.name for v in graph.inputs}
        known = set(env) | inputs
        plan = plan_graph(graph, known, inputs if top else set())
        call.plan_cache[id(graph)] = plan
    opsets = opsets if opsets is not None else model.opset_imports

    def sub(g: Graph, values: Sequence[Any]) -> list[Any]:
        inner = dict(env)
        for name, t in g.initializers.items():
            inner[name] = t.to_tensor(device)
        for name, s in g.sparse_initializers.items():
            inner[name] = s.to_dense().to_tensor(device)
        if len(values) > len(g.inputs):
            raise FormatError(f"subgraph '{g.name}' takes {len(g.inputs)} inputs, got {len(values)}")
        for vi, v in zip(g.inputs, values):
            inner[vi.name] = v
        return run_graph(model, g, inner, _Call({}, None, call.plan_cache), device, opsets=opsets)

    for node in plan.order:
        if top and node.outputs and all((not o) or o in call.folded for o in node.outputs):
            for o in node.outputs:
                if o:
                    env[o] = call.folded[o]
            continue
        outs = run_node(model, node, env, device, sub, opsets)
        for name, value in zip(node.outputs, outs):
            if name:
                env[name] = value
                if top and call.record is not None and name in plan.foldable and name not in graph.initializers:
                    call.record[name] = value
    missing = [o.name for o in graph.outputs if o.name not in env]
    if missing:
        raise FormatError(f"graph '{graph.name}': outputs {missing} are produced by no node")
    return [env[o.name] for o in graph.outputs]


def run_node(model: Model, node: Node, env: dict[str, Any], device: str,
             sub: Callable[[Graph, Sequence[Any]], list[Any]], opsets: Mapping[str, int]) -> list[Any]:
    ins = []
    for name in node.inputs:
        if not name:
            ins.append(None)
        elif name in env:
            ins.append(env[name])
        else:
            raise FormatError(f"node '{node.name or node.op_type}' reads '{name}', which nothing defines")
    function = model.functions.get((node.domain, node.op_type))
    label = node.name or node.op_type
    if function is not None:
        return _run_function(model, function, node, ins, device, sub)
    impl = lookup(node.op_type, node.domain)
    if ins and _is_tensor(ins[0]) and (node.op_type in _MATERIALIZED_INPUT or
                                       (node.op_type in _SOFTMAX and _ends_in_reduce(ins[0]))):
        ins[0] = ins[0].contiguous()
        if node.inputs[0] in env and env[node.inputs[0]] is not ins[0]:
            # every other reader of this value (a ResNet block's residual Add) reads the same buffer: left lazy,
            # it recomputed the producer's epilogue inside its own conv kernel, whose epilogue then read a realized
            # Relu mask (bool) and fell off the vectorized conv path (ResNet-50's 1x1 convs at 1-8 GFLOP/s)
            env[node.inputs[0]] = ins[0]
    if node.op_type == "Concat" and len(ins) > 1:  # each branch (a conv and its epilogue) in its own kernel:
        # fused into the concat, every branch's reduce loop ran for every output element (100x slower here)
        ins = [v.contiguous() if _is_tensor(v) and v.numel() > _HOST_ELEMENTS else v for v in ins]
    ctx = OpContext(opset=opsets.get(node.domain, opsets.get("", 1) if node.domain == "" else 1),
                    num_outputs=len(node.outputs), device=device, run_graph=sub, node_name=label,
                    output_used=[bool(o) for o in node.outputs])
    try:
        out = impl(ctx, ins, dict(node.attributes))
    except (FormatError, ShapeError, DTypeError, ArgumentError) as e:
        raise type(e)(f"ONNX node '{label}' ({node.op_type}): {e}") from e
    outs = list(out) if isinstance(out, tuple) else \
        (out if isinstance(out, list) and len(node.outputs) > 1 else [out])
    if len(outs) < len([o for o in node.outputs if o]):
        outs += [None] * (len(node.outputs) - len(outs))
    return outs


def _run_function(model: Model, fn: Function, node: Node, ins: list[Any], device: str,
                  sub: Callable[[Graph, Sequence[Any]], list[Any]]) -> list[Any]:
    """A model-local function: its body with the node's inputs and attributes bound (references resolved)."""
    attrs = dict(fn.attribute_defaults)
    attrs.update(node.attributes)
    body: list[Node] = []
    for n in fn.nodes:
        resolved = dict(n.attributes)
        for name, ref in n.attr_refs.items():
            if ref in attrs:
                resolved[name] = attrs[ref]
        body.append(Node(n.op_type, n.domain, n.name, n.inputs, n.outputs, resolved))
    graph = Graph(fn.name, body, [ValueInfo(i) for i in fn.inputs], [ValueInfo(o) for o in fn.outputs], {})
    env = {name: value for name, value in zip(fn.inputs, ins) if value is not None}
    opsets = dict(model.opset_imports)
    opsets.update(fn.opset_imports)
    return run_graph(model, graph, env, _Call({}, None), device, opsets=opsets)
