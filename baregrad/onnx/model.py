"""The ONNX file as Python dataclasses: ModelProto, GraphProto, NodeProto, TensorProto and friends, read with our
own wire decoder (`wire.py`), so no `onnx` package is needed.

The file is untrusted. Every length is checked against the bytes that hold it, element counts against byte sizes,
dims must be >= 0, subgraphs nest at most MAX_GRAPH_DEPTH deep (counted, so Python's recursion limit never
decides), and external data must lie inside the model's folder. Anything else raises FormatError naming the
field and the byte offset.
"""
from __future__ import annotations

import math
import os
import sys
from array import array
from dataclasses import dataclass, field
from typing import Any

from baregrad.errors import DTypeError, FormatError
from baregrad.onnx.wire import (
    Field,
    WireType,
    as_bytes,
    as_float,
    as_int64,
    as_str,
    expect,
    iter_fields,
    packed_varints,
    repeated_fixed,
    repeated_int64,
    to_signed64,
)

MAX_GRAPH_DEPTH = 32       # If/Loop/Scan bodies inside bodies; real models use 2-3
MAX_TYPE_DEPTH = 16        # sequence(optional(sequence(...))) nesting of TypeProto
MAX_FILE_BYTES = 1 << 31   # protobuf's own limit for one message


class DataType:
    """TensorProto.DataType codes."""
    UNDEFINED, FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64, STRING, BOOL = range(10)
    FLOAT16, DOUBLE, UINT32, UINT64, COMPLEX64, COMPLEX128, BFLOAT16 = range(10, 17)
    FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, UINT4, INT4, FLOAT4E2M1, FLOAT8E8M0 = range(17, 25)
    UINT2, INT2 = 25, 26


# bits each element takes in raw_data (sub-byte types are packed, rounded up to whole bytes)
_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64, 14: 64, 15: 128,
         16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2}
_DTYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64", 9: "bool",
                10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16"}
_TYPE_NAMES = {0: "undefined", 8: "string", 14: "complex64", 15: "complex128", 17: "float8e4m3fn",
               18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
               23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2", **_DTYPE_NAMES}
# how int32_data holds each type's elements (array type codes); 16-bit floats are their bit patterns
_INT32_CODES = {2: "B", 3: "b", 4: "H", 5: "h", 6: "i", 9: "B", 10: "H", 16: "H"}


def dtype_of(code: int) -> Any:
    """The baregrad dtype of an ONNX element type code (DTypeError for the types baregrad has none for)."""
    from baregrad import dtype as dt
    name = _DTYPE_NAMES.get(code)
    if name is None:
        raise DTypeError(f"ONNX element type {type_name(code)} ({code}) has no baregrad dtype")
    return dt.from_name(name)


def onnx_type_of(dtype: Any) -> int:
    """The ONNX element type code of a baregrad dtype."""
    for code, name in _DTYPE_NAMES.items():
        if name == dtype.name:
            return code
    raise DTypeError(f"baregrad dtype {dtype.name} has no ONNX element type")


def type_name(code: int) -> str:
    return _TYPE_NAMES.get(code, f"unknown type {code}")


# ---------------------------------------------------------------------------------------------------------------
# the dataclasses


@dataclass
class TensorData:
    """A TensorProto: dims, element type and the data, held as raw little-endian bytes (`raw`), as typed values
    (`values`, an array or list decoded from float_data/int32_data/...), or as strings. `to_tensor` makes it a
    baregrad Tensor."""
    name: str
    dims: tuple[int, ...]
    data_type: int
    raw: bytes | memoryview | None = None
    values: Any = None                   # array('f'/'d'/'q'/'Q'/...) or list of ints from the typed fields
    strings: list[bytes] | None = None
    offset: int = 0                      # where the TensorProto starts in its file

    @property
    def numel(self) -> int:
        return math.prod(self.dims)

    @property
    def dtype(self) -> Any:
        return dtype_of(self.data_type)

    def to_bytes(self) -> bytes | memoryview:
        """The elements as little-endian bytes of the tensor's dtype."""
        if self.raw is not None:
            return self.raw
        if self.strings is not None:
            raise DTypeError(f"tensor '{self.name}' holds strings, which baregrad has no dtype for")
        d = self.dtype
        if self.values is None:
            return b""
        code = {1: "f", 11: "d", 7: "q", 13: "Q", 12: "I"}.get(self.data_type) or _INT32_CODES[self.data_type]
        values = [v != 0 for v in self.values] if self.data_type == DataType.BOOL else self.values
        try:
            out = array(code, values)
        except OverflowError:
            raise FormatError(f"tensor '{self.name}' at byte {self.offset}: a typed value does not fit "
                              f"{d.name}") from None
        if sys.byteorder == "big":
            out.byteswap()
        return out.tobytes()

    def to_tensor(self, device: Any = None) -> Any:
        from baregrad.tensor import Tensor
        return Tensor.from_bytes(self.to_bytes(), self.dtype, self.dims, device)

    def to_numpy(self) -> Any:
        import numpy as np
        if self.strings is not None:
            return np.array(self.strings, dtype=object).reshape(self.dims)
        return np.frombuffer(bytes(self.to_bytes()), dtype=self.dtype.name if self.data_type != 16 else "uint16")\
            .reshape(self.dims).copy()


@dataclass
class SparseTensorData:
    """A SparseTensorProto: `values` (1-d), `indices` (1-d linear or [nnz, rank] coordinates) and the dense dims."""
    values: TensorData
    indices: TensorData
    dims: tuple[int, ...]
    offset: int = 0

    def to_dense(self) -> TensorData:
        """The dense TensorData (zeros except the listed positions); indices are checked against the dims."""
        nnz = self.values.numel
        if self.indices.data_type not in (DataType.INT64, DataType.INT32):
            raise FormatError(f"sparse tensor at byte {self.offset}: indices of type "
                              f"{type_name(self.indices.data_type)}, not int64")
        idx = array("q" if self.indices.data_type == DataType.INT64 else "i")
        idx.frombytes(bytes(self.indices.to_bytes()))
        if sys.byteorder == "big":
            idx.byteswap()
        total = math.prod(self.dims)
        if len(self.indices.dims) == 2:
            rank = self.indices.dims[1]
            if rank != len(self.dims) or self.indices.dims[0] != nnz:
                raise FormatError(f"sparse tensor at byte {self.offset}: indices of shape {self.indices.dims} for "
                                  f"{nnz} values of a tensor of shape {self.dims}")
            linear = []
            for k in range(nnz):
                pos = 0
                for i, size in zip(idx[k * rank:(k + 1) * rank], self.dims):
                    if not 0 <= i < size:
                        raise FormatError(f"sparse tensor at byte {self.offset}: index {i} outside dim {size}")
                    pos = pos * size + i
                linear.append(pos)
        elif len(self.indices.dims) == 1 and self.indices.dims[0] == nnz:
            linear = idx
        else:
            raise FormatError(f"sparse tensor at byte {self.offset}: indices of shape {self.indices.dims} for "
                              f"{nnz} values")
        itemsize = self.values.dtype.itemsize
        if total * itemsize > MAX_FILE_BYTES:
            raise FormatError(f"sparse tensor at byte {self.offset}: dense shape {self.dims} is over "
                              f"{MAX_FILE_BYTES} bytes")
        src = bytes(self.values.to_bytes())
        out = bytearray(total * itemsize)
        for k, pos in enumerate(linear):
            if not 0 <= pos < total:
                raise FormatError(f"sparse tensor at byte {self.offset}: index {pos} outside {total} elements")
            out[pos * itemsize:(pos + 1) * itemsize] = src[k * itemsize:(k + 1) * itemsize]
        return TensorData(self.values.name, self.dims, self.values.data_type, raw=bytes(out), offset=self.offset)


@dataclass
class TypeInfo:
    """A TypeProto: kind is 'tensor', 'sparse_tensor', 'sequence', 'optional' or 'map'. For tensors, `shape` has
    an int, a symbolic name (str) or None per dim, or is None when the rank is unknown."""
    kind: str
    elem_type: int = 0
    shape: tuple[int | str | None, ...] | None = None
    elem: TypeInfo | None = None


@dataclass
class ValueInfo:
    name: str
    type: TypeInfo | None = None


@dataclass
class Node:
    op_type: str
    domain: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)
    attr_refs: dict[str, str] = field(default_factory=dict)  # attribute -> the function attribute it refers to


@dataclass
class Graph:
    name: str
    nodes: list[Node]
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    initializers: dict[str, TensorData]
    value_info: list[ValueInfo] = field(default_factory=list)
    sparse_initializers: dict[str, SparseTensorData] = field(default_factory=dict)


@dataclass
class Function:
    """A model-local FunctionProto: a node whose (domain, op_type) names it runs `nodes` with its inputs bound."""
    domain: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attributes: list[str]
    attribute_defaults: dict[str, Any]
    nodes: list[Node]
    opset_imports: dict[str, int]


@dataclass
class Model:
    ir_version: int
    opset_imports: dict[str, int]
    graph: Graph
    producer_name: str = ""
    producer_version: str = ""
    functions: dict[tuple[str, str], Function] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# the parser


class _AttrType:
    UNDEFINED, FLOAT, INT, STRING, TENSOR, GRAPH, FLOATS, INTS, STRINGS, TENSORS, GRAPHS = range(11)
    SPARSE_TENSOR, SPARSE_TENSORS, TYPE_PROTO, TYPE_PROTOS = 11, 12, 13, 14


class _Parser:
    def __init__(self, buf: bytes | memoryview, base_dir: str | None):
        self.buf = buf
        self.base_dir = base_dir

    # -- Model --
    def model(self) -> Model:
        buf, what = self.buf, "ModelProto"
        ir_version, opsets, graph, producer, producer_version = 0, {}, None, "", ""
        functions: dict[tuple[str, str], Function] = {}
        metadata: dict[str, str] = {}
        for f in iter_fields(buf, 0, len(buf), what):
            n = f.number
            if n == 1:
                ir_version = as_int64(f, "ModelProto.ir_version")
            elif n == 8:
                domain, version = self.opset(f)
                opsets[domain] = version
            elif n == 7:
                expect(f, WireType.LEN, "ModelProto.graph")
                graph = self.graph(f.start, f.end, 0)
            elif n == 2:
                producer = as_str(buf, f, "ModelProto.producer_name")
            elif n == 3:
                producer_version = as_str(buf, f, "ModelProto.producer_version")
            elif n == 14:
                key, value = self.string_pair(f, "ModelProto.metadata_props")
                metadata[key] = value
            elif n == 25:
                fn = self.function(f)
                functions[(fn.domain, fn.name)] = fn
        if graph is None:
            raise FormatError(f"ModelProto: no graph (field 7) in {len(buf)} bytes; is this an ONNX model file?")
        if not opsets:
            opsets[""] = 1  # IR version 1 files had no opset_import: opset 1 of the default domain
        return Model(ir_version, opsets, graph, producer, producer_version, functions, metadata)

    def opset(self, f: Field) -> tuple[str, int]:
        expect(f, WireType.LEN, "OperatorSetIdProto")
        domain, version = "", 0
        for g in iter_fields(self.buf, f.start, f.end, "OperatorSetIdProto"):
            if g.number == 1:
                domain = as_str(self.buf, g, "OperatorSetIdProto.domain")
            elif g.number == 2:
                version = as_int64(g, "OperatorSetIdProto.version")
        return ("" if domain == "ai.onnx" else domain), version

    def string_pair(self, f: Field, what: str) -> tuple[str, str]:
        expect(f, WireType.LEN, what)
        key = value = ""
        for g in iter_fields(self.buf, f.start, f.end, what):
            if g.number == 1:
                key = as_str(self.buf, g, f"{what}.key")
            elif g.number == 2:
                value = as_str(self.buf, g, f"{what}.value")
        return key, value

    # -- Graph --
    def graph(self, start: int, end: int, depth: int) -> Graph:
        if depth > MAX_GRAPH_DEPTH:
            raise FormatError(f"GraphProto at byte {start}: subgraphs nested more than {MAX_GRAPH_DEPTH} deep")
        buf, what = self.buf, "GraphProto"
        g = Graph("", [], [], [], {})
        for f in iter_fields(buf, start, end, what):
            n = f.number
            if n == 1:
                expect(f, WireType.LEN, "GraphProto.node")
                g.nodes.append(self.node(f.start, f.end, depth))
            elif n == 2:
                g.name = as_str(buf, f, "GraphProto.name")
            elif n == 5:
                expect(f, WireType.LEN, "GraphProto.initializer")
                t = self.tensor(f.start, f.end)
                g.initializers[t.name] = t
            elif n == 15:
                expect(f, WireType.LEN, "GraphProto.sparse_initializer")
                s = self.sparse_tensor(f.start, f.end)
                g.sparse_initializers[s.values.name] = s
            elif n in (11, 12, 13):
                expect(f, WireType.LEN, "GraphProto.input/output/value_info")
                vi = self.value_info(f.start, f.end)
                (g.inputs if n == 11 else g.outputs if n == 12 else g.value_info).append(vi)
        return g

    def value_info(self, start: int, end: int) -> ValueInfo:
        vi = ValueInfo("")
        for f in iter_fields(self.buf, start, end, "ValueInfoProto"):
            if f.number == 1:
                vi.name = as_str(self.buf, f, "ValueInfoProto.name")
            elif f.number == 2:
                expect(f, WireType.LEN, "ValueInfoProto.type")
                vi.type = self.type_proto(f.start, f.end, 0)
        return vi

    def type_proto(self, start: int, end: int, depth: int) -> TypeInfo:
        if depth > MAX_TYPE_DEPTH:
            raise FormatError(f"TypeProto at byte {start}: nested more than {MAX_TYPE_DEPTH} deep")
        t = TypeInfo("unknown")
        for f in iter_fields(self.buf, start, end, "TypeProto"):
            if f.number in (1, 8):  # tensor_type, sparse_tensor_type
                expect(f, WireType.LEN, "TypeProto.tensor_type")
                t.kind = "tensor" if f.number == 1 else "sparse_tensor"
                for g in iter_fields(self.buf, f.start, f.end, "TypeProto.Tensor"):
                    if g.number == 1:
                        t.elem_type = as_int64(g, "TypeProto.Tensor.elem_type")
                    elif g.number == 2:
                        expect(g, WireType.LEN, "TypeProto.Tensor.shape")
                        t.shape = self.shape(g.start, g.end)
            elif f.number in (4, 9):  # sequence_type, optional_type: one nested elem_type
                expect(f, WireType.LEN, "TypeProto.sequence_type")
                t.kind = "sequence" if f.number == 4 else "optional"
                for g in iter_fields(self.buf, f.start, f.end, "TypeProto.Sequence"):
                    if g.number == 1:
                        expect(g, WireType.LEN, "TypeProto.Sequence.elem_type")
                        t.elem = self.type_proto(g.start, g.end, depth + 1)
            elif f.number == 5:
                t.kind = "map"
        return t

    def shape(self, start: int, end: int) -> tuple[int | str | None, ...]:
        dims: list[int | str | None] = []
        for f in iter_fields(self.buf, start, end, "TensorShapeProto"):
            if f.number != 1:
                continue
            expect(f, WireType.LEN, "TensorShapeProto.dim")
            dim: int | str | None = None
            for g in iter_fields(self.buf, f.start, f.end, "TensorShapeProto.Dimension"):
                if g.number == 1:
                    v = as_int64(g, "Dimension.dim_value")
                    dim = v if v >= 0 else None  # exporters write -1 for "unknown"
                elif g.number == 2:
                    dim = as_str(self.buf, g, "Dimension.dim_param") or None
            dims.append(dim)
        return tuple(dims)

    # -- Node and attributes --
    def node(self, start: int, end: int, depth: int) -> Node:
        buf = self.buf
        node = Node("", "", "", [], [])
        for f in iter_fields(buf, start, end, "NodeProto"):
            n = f.number
            if n == 1:
                node.inputs.append(as_str(buf, f, "NodeProto.input"))
            elif n == 2:
                node.outputs.append(as_str(buf, f, "NodeProto.output"))
            elif n == 3:
                node.name = as_str(buf, f, "NodeProto.name")
            elif n == 4:
                node.op_type = as_str(buf, f, "NodeProto.op_type")
            elif n == 7:
                node.domain = as_str(buf, f, "NodeProto.domain")
                if node.domain == "ai.onnx":
                    node.domain = ""
            elif n == 5:
                expect(f, WireType.LEN, "NodeProto.attribute")
                name, value, ref = self.attribute(f.start, f.end, depth)
                if ref:
                    node.attr_refs[name] = ref
                else:
                    node.attributes[name] = value
        if not node.op_type:
            raise FormatError(f"NodeProto at byte {start}: no op_type")
        return node

    def attribute(self, start: int, end: int, depth: int) -> tuple[str, Any, str]:
        """(name, Python value, ref_attr_name): floats, ints, str, lists, TensorData, Graph, TypeInfo."""
        buf, what = self.buf, "AttributeProto"
        name, ref, kind = "", "", 0
        found: dict[int, Any] = {}
        floats, ints, strings, tensors, graphs, sparse = array("f"), [], [], [], [], []
        for f in iter_fields(buf, start, end, what):
            n = f.number
            if n == 1:
                name = as_str(buf, f, "AttributeProto.name")
            elif n == 21:
                ref = as_str(buf, f, "AttributeProto.ref_attr_name")
            elif n == 20:
                kind = as_int64(f, "AttributeProto.type")
            elif n == 2:
                found[_AttrType.FLOAT] = as_float(f, "AttributeProto.f")
            elif n == 3:
                found[_AttrType.INT] = as_int64(f, "AttributeProto.i")
            elif n == 4:
                found[_AttrType.STRING] = as_bytes(buf, f, "AttributeProto.s")
            elif n == 5:
                expect(f, WireType.LEN, "AttributeProto.t")
                found[_AttrType.TENSOR] = self.tensor(f.start, f.end)
            elif n == 6:
                expect(f, WireType.LEN, "AttributeProto.g")
                found[_AttrType.GRAPH] = self.graph(f.start, f.end, depth + 1)
            elif n == 22:
                expect(f, WireType.LEN, "AttributeProto.sparse_tensor")
                found[_AttrType.SPARSE_TENSOR] = self.sparse_tensor(f.start, f.end)
            elif n == 14:
                expect(f, WireType.LEN, "AttributeProto.tp")
                found[_AttrType.TYPE_PROTO] = self.type_proto(f.start, f.end, 0)
            elif n == 7:
                repeated_fixed(buf, f, "f", floats, "AttributeProto.floats")
                found[_AttrType.FLOATS] = floats
            elif n == 8:
                repeated_int64(buf, f, ints, "AttributeProto.ints")
                found[_AttrType.INTS] = ints
            elif n == 9:
                strings.append(as_bytes(buf, f, "AttributeProto.strings"))
                found[_AttrType.STRINGS] = strings
            elif n == 10:
                expect(f, WireType.LEN, "AttributeProto.tensors")
                tensors.append(self.tensor(f.start, f.end))
                found[_AttrType.TENSORS] = tensors
            elif n == 11:
                expect(f, WireType.LEN, "AttributeProto.graphs")
                graphs.append(self.graph(f.start, f.end, depth + 1))
                found[_AttrType.GRAPHS] = graphs
            elif n == 23:
                expect(f, WireType.LEN, "AttributeProto.sparse_tensors")
                sparse.append(self.sparse_tensor(f.start, f.end))
                found[_AttrType.SPARSE_TENSORS] = sparse
        if not name:
            raise FormatError(f"AttributeProto at byte {start}: no name")
        if ref:
            return name, None, ref
        if kind == 0:  # old writers leave `type` unset: the one field present says what it is
            kind = next(iter(found), _AttrType.INTS)
        if kind in (_AttrType.FLOATS, _AttrType.INTS, _AttrType.STRINGS, _AttrType.TENSORS, _AttrType.GRAPHS,
                    _AttrType.SPARSE_TENSORS, _AttrType.TYPE_PROTOS):
            value = found.get(kind, [])
        elif kind in found:
            value = found[kind]
        else:
            raise FormatError(f"attribute '{name}' at byte {start}: declared type {kind} but its field is missing")
        return name, _python_value(value, name, start), ""

    # -- Tensors --
    def tensor(self, start: int, end: int) -> TensorData:
        buf, what = self.buf, "TensorProto"
        dims: list[int] = []
        t = TensorData("", (), 0, offset=start)
        typed: dict[int, Any] = {}
        external: dict[str, str] = {}
        location = 0
        for f in iter_fields(buf, start, end, what):
            n = f.number
            if n == 1:
                repeated_int64(buf, f, dims, "TensorProto.dims")
            elif n == 2:
                t.data_type = as_int64(f, "TensorProto.data_type")
            elif n == 8:
                t.name = as_str(buf, f, "TensorProto.name")
            elif n == 9:
                expect(f, WireType.LEN, "TensorProto.raw_data")
                t.raw = memoryview(buf)[f.start:f.end]
            elif n == 4:
                repeated_fixed(buf, f, "f", typed.setdefault(4, array("f")), "TensorProto.float_data")
            elif n == 10:
                repeated_fixed(buf, f, "d", typed.setdefault(10, array("d")), "TensorProto.double_data")
            elif n in (5, 7, 11):  # int32_data, int64_data, uint64_data: varints, packed or not
                vals = typed.setdefault(n, [])
                if f.wire == WireType.LEN:
                    raw = packed_varints(buf, f.start, f.end, "TensorProto typed data")
                    vals.extend(raw if n == 11 else (to_signed64(v) for v in raw))
                else:
                    expect(f, WireType.VARINT, "TensorProto typed data")
                    vals.append(f.value if n == 11 else to_signed64(f.value))
            elif n == 6:
                typed.setdefault(6, []).append(as_bytes(buf, f, "TensorProto.string_data"))
            elif n == 13:
                key, value = self.string_pair(f, "TensorProto.external_data")
                external[key] = value
            elif n == 14:
                location = as_int64(f, "TensorProto.data_location")
        t.dims = tuple(dims)
        where = f"tensor '{t.name}' (TensorProto at byte {start})"
        if any(d < 0 for d in dims):
            raise FormatError(f"{where}: negative dim in {t.dims}")
        if t.data_type not in _BITS and t.data_type != DataType.STRING:
            raise FormatError(f"{where}: unknown data_type {t.data_type}")
        if location == 1:
            t.raw = self.external(external, where)
        numel = math.prod(t.dims)
        if t.data_type == DataType.STRING:
            t.strings = typed.get(6, [])
            if len(t.strings) != numel:
                raise FormatError(f"{where}: {len(t.strings)} strings for shape {t.dims}")
            return t
        if t.raw is not None:
            nbytes = (numel * _BITS[t.data_type] + 7) // 8
            if len(t.raw) != nbytes:
                raise FormatError(f"{where}: raw_data has {len(t.raw)} bytes, shape {t.dims} of "
                                  f"{type_name(t.data_type)} needs {nbytes}")
            return t
        field_no = _typed_field(t.data_type)
        values = typed.get(field_no)
        count = len(values) if values is not None else 0
        per_value = 2 if t.data_type in (DataType.COMPLEX64, DataType.COMPLEX128) else 1
        if t.data_type in (DataType.UINT4, DataType.INT4, DataType.FLOAT4E2M1):
            per_value = 0.5  # two 4-bit elements per int32 value
        expected = math.ceil(numel * per_value)
        if count != expected:
            raise FormatError(f"{where}: {count} values in field {field_no} for shape {t.dims} "
                              f"of {type_name(t.data_type)} ({expected} expected)")
        t.values = values if values is not None else []
        return t

    def sparse_tensor(self, start: int, end: int) -> SparseTensorData:
        values = indices = None
        dims: list[int] = []
        for f in iter_fields(self.buf, start, end, "SparseTensorProto"):
            if f.number == 1:
                expect(f, WireType.LEN, "SparseTensorProto.values")
                values = self.tensor(f.start, f.end)
            elif f.number == 2:
                expect(f, WireType.LEN, "SparseTensorProto.indices")
                indices = self.tensor(f.start, f.end)
            elif f.number == 3:
                repeated_int64(self.buf, f, dims, "SparseTensorProto.dims")
        if values is None or indices is None:
            raise FormatError(f"SparseTensorProto at byte {start}: values or indices missing")
        if any(d < 0 for d in dims):
            raise FormatError(f"SparseTensorProto at byte {start}: negative dim in {tuple(dims)}")
        if len(values.dims) != 1:
            raise FormatError(f"SparseTensorProto at byte {start}: values of shape {values.dims} are not 1-d")
        return SparseTensorData(values, indices, tuple(dims), start)

    def external(self, info: dict[str, str], where: str) -> bytes:
        """The bytes of an external-data tensor, from a file that must lie inside the model's folder."""
        location = info.get("location", "")
        if self.base_dir is None:
            raise FormatError(f"{where}: external data '{location}' but the model was not read from a file")
        if not location or os.path.isabs(location) or "\x00" in location:
            raise FormatError(f"{where}: external data location {location!r} is not a relative file name")
        base = os.path.realpath(self.base_dir)
        path = os.path.realpath(os.path.join(base, location))
        if os.path.commonpath([base, path]) != base or path == base:
            raise FormatError(f"{where}: external data location {location!r} escapes the model's folder")
        try:
            offset = int(info.get("offset", "0"))
            length = int(info["length"]) if "length" in info else None
        except ValueError:
            raise FormatError(f"{where}: external data offset/length are not integers: {info}") from None
        if not os.path.isfile(path):
            raise FormatError(f"{where}: external data file {location!r} not found next to the model")
        size = os.path.getsize(path)
        if offset < 0 or (length is not None and length < 0) or offset > size or \
                (length is not None and offset + length > size):
            raise FormatError(f"{where}: external data offset {offset} length {length} outside {location!r} "
                              f"({size} bytes)")
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(size - offset if length is None else length)

    # -- Functions --
    def function(self, f: Field) -> Function:
        expect(f, WireType.LEN, "ModelProto.functions")
        buf, what = self.buf, "FunctionProto"
        fn = Function("", "", [], [], [], {}, [], {})
        for g in iter_fields(buf, f.start, f.end, what):
            n = g.number
            if n == 1:
                fn.name = as_str(buf, g, "FunctionProto.name")
            elif n == 10:
                fn.domain = as_str(buf, g, "FunctionProto.domain")
            elif n == 4:
                fn.inputs.append(as_str(buf, g, "FunctionProto.input"))
            elif n == 5:
                fn.outputs.append(as_str(buf, g, "FunctionProto.output"))
            elif n == 6:
                fn.attributes.append(as_str(buf, g, "FunctionProto.attribute"))
            elif n == 11:
                expect(g, WireType.LEN, "FunctionProto.attribute_proto")
                name, value, _ = self.attribute(g.start, g.end, 0)
                fn.attributes.append(name)
                fn.attribute_defaults[name] = value
            elif n == 7:
                expect(g, WireType.LEN, "FunctionProto.node")
                fn.nodes.append(self.node(g.start, g.end, 0))
            elif n == 9:
                domain, version = self.opset(g)
                fn.opset_imports[domain] = version
        return fn


def _typed_field(data_type: int) -> int:
    if data_type in (DataType.FLOAT, DataType.COMPLEX64):
        return 4
    if data_type in (DataType.DOUBLE, DataType.COMPLEX128):
        return 10
    if data_type == DataType.INT64:
        return 7
    if data_type in (DataType.UINT32, DataType.UINT64):
        return 11
    return 5


def _python_value(value: Any, name: str, offset: int) -> Any:
    """Attribute payloads as plain Python: bytes -> str (utf-8), arrays -> lists."""
    def text(b: bytes) -> str:
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            raise FormatError(f"attribute '{name}' at byte {offset}: string is not valid UTF-8") from None
    if isinstance(value, bytes):
        return text(value)
    if isinstance(value, array):
        return list(value)
    if isinstance(value, list) and value and isinstance(value[0], bytes):
        return [text(b) for b in value]
    return value


# ---------------------------------------------------------------------------------------------------------------
# entry points


def parse_model(data: bytes | bytearray | memoryview, base_dir: str | None = None) -> Model:
    """A Model from the bytes of a .onnx file; `base_dir` is where its external data files are."""
    data = bytes(data) if not isinstance(data, bytes) else data
    if len(data) > MAX_FILE_BYTES:
        raise FormatError(f"ONNX model of {len(data)} bytes is over protobuf's 2 GiB limit (use external data)")
    return _Parser(data, base_dir).model()


def read_model(path: str | os.PathLike) -> Model:
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise FormatError(f"cannot read ONNX model {path}: {e.strerror}") from None
    return parse_model(data, os.path.dirname(os.path.abspath(path)))


def parse_tensor(data: bytes | memoryview, base_dir: str | None = None) -> TensorData:
    """A lone TensorProto (the input_0.pb / output_0.pb files of ONNX's test cases)."""
    data = bytes(data)
    return _Parser(data, base_dir).tensor(0, len(data))


def parse_graph(data: bytes | memoryview) -> Graph:
    """A lone GraphProto (the body of a subgraph attribute, serialized on its own)."""
    data = bytes(data)
    return _Parser(data, None).graph(0, len(data), 0)


def parse_value(data: bytes | memoryview, kind: str) -> Any:
    """A SequenceProto ('sequence': a list of values) or OptionalProto ('optional': a value or None), as in ONNX's
    test-case .pb files; tensors become TensorData. Nesting is counted, as for graphs."""
    data = bytes(data)
    parser = _Parser(data, None)
    return _value(parser, 0, len(data), kind, 0)


def _value(p: _Parser, start: int, end: int, kind: str, depth: int) -> Any:
    if depth > MAX_TYPE_DEPTH:
        raise FormatError(f"{kind} at byte {start}: nested more than {MAX_TYPE_DEPTH} deep")
    items: list[Any] = []
    present = False
    for f in iter_fields(p.buf, start, end, kind):
        if f.number == 3:  # tensor_values / tensor_value
            expect(f, WireType.LEN, f"{kind}.tensor")
            items.append(p.tensor(f.start, f.end))
            present = True
        elif f.number in (5, 7):  # sequence_values / optional_values
            expect(f, WireType.LEN, f"{kind}.value")
            items.append(_value(p, f.start, f.end, "sequence" if f.number == 5 else "optional", depth + 1))
            present = True
    if kind == "optional":
        return items[0] if present else None
    return items
