"""ONNX-ML TreeEnsemble: decision trees walked on the host (explicit loops, no recursion), outputs per target."""
from __future__ import annotations

import math
from typing import Any

from baregrad.onnx.ops.registry import OpContext, register
from baregrad.tensor import Tensor

_AVERAGE, _SUM, _MIN, _MAX = 0, 1, 2, 3
_MEMBER = 6


def _values(attr: Any, device: str) -> list:
    if attr is None:
        return []
    if hasattr(attr, "to_tensor"):
        return attr.to_tensor(device).reshape(-1).tolist()
    return list(attr)


def _test(mode: int, value: float, split: Any, tracks_missing: bool) -> bool:
    if math.isnan(value) and tracks_missing:
        return True
    return {0: lambda: value <= split, 1: lambda: value < split, 2: lambda: value >= split,
            3: lambda: value > split, 4: lambda: value == split, 5: lambda: value != split,
            _MEMBER: lambda: value in split}[mode]()


@register("TreeEnsemble", "ai.onnx.ml")
def tree_ensemble(ctx: OpContext, inputs: list, attrs: dict[str, Any]) -> Tensor:
    x = inputs[0]
    dev = ctx.device
    modes = [int(m) for m in _values(attrs["nodes_modes"], dev)]
    splits: list[Any] = _values(attrs["nodes_splits"], dev)
    members = iter(_values(attrs.get("membership_values"), dev))
    for i, mode in enumerate(modes):  # each member node takes the values up to the next NaN separator
        if mode == _MEMBER:
            group = set()
            for v in members:
                if math.isnan(v):
                    break
                group.add(v)
            splits[i] = group
    features = list(attrs["nodes_featureids"])
    true_ids, false_ids = list(attrs["nodes_truenodeids"]), list(attrs["nodes_falsenodeids"])
    true_leaf, false_leaf = list(attrs["nodes_trueleafs"]), list(attrs["nodes_falseleafs"])
    tracks = list(attrs.get("nodes_missing_value_tracks_true", [0] * len(modes)))
    leaf_targets = list(attrs["leaf_targetids"])
    leaf_weights = _values(attrs["leaf_weights"], dev)
    roots = list(attrs["tree_roots"])
    targets = attrs["n_targets"]
    agg = attrs.get("aggregate_function", _SUM)
    rows = x.tolist()
    out = []
    for row in rows:
        start = {_MIN: float("inf"), _MAX: float("-inf")}.get(agg, 0.0)
        result = [start] * targets
        for root in roots:
            node, is_leaf = root, bool(true_leaf[root] and false_leaf[root] and true_ids[root] == false_ids[root])
            while not is_leaf:
                hit = _test(modes[node], float(row[features[node]]), splits[node], bool(tracks[node]))
                node, is_leaf = (true_ids[node], bool(true_leaf[node])) if hit else \
                    (false_ids[node], bool(false_leaf[node]))
            t, w = leaf_targets[node], leaf_weights[node]
            if agg == _SUM:
                result[t] += w
            elif agg == _AVERAGE:
                result[t] += w / len(roots)
            elif agg == _MIN:
                result[t] = min(result[t], w)
            else:
                result[t] = max(result[t], w)
        out.append(result)
    return Tensor(out, dtype=x.dtype, device=dev)
