"""`baregrad onnx`: the description, a run on .npy inputs (outputs checked against onnxruntime) and --bench."""
from __future__ import annotations

import numpy as np

from baregrad.cli import main
from tests.onnx.onnx_cases import assert_close, run_ort
from tests.onnx.test_onnx_runner import _reshape_model


def test_describe_run_and_bench(tmp_path, capsys) -> None:
    data = _reshape_model()
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    x = np.random.default_rng(0).standard_normal((3, 3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["onnx", str(path)]) == 0
    text = capsys.readouterr().out
    assert "x: float32[batch, 3, 4]" in text and "y: float32[batch, 12]" in text and "1  Reshape" in text
    assert main(["onnx", str(path), "--input", f"x={tmp_path / 'x.npy'}", "--out", str(tmp_path / "out"),
                 "--device", "CPU"]) == 0
    assert_close([np.load(tmp_path / "out" / "y.npy")], run_ort(data, {"x": x}))
    assert main(["onnx", str(path), "--bench", "--repeat", "2", "--device", "CPU"]) == 0
    assert "baregrad (CPU): median" in capsys.readouterr().out


def test_bad_file_is_one_line_error(tmp_path, capsys) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07\x3a\xff\xff")
    assert main(["onnx", str(path)]) == 1
    assert "error:" in capsys.readouterr().err
