"""The `baregrad` command (also `python -m baregrad`).

    baregrad                          answer "What is the capital of France?" with the default model (a demo)
    baregrad devices                  which devices work here, and why the others do not
    baregrad run [MODEL] "prompt"     one answer, streamed, then prompt and generation speed
    baregrad chat [MODEL]             interactive chat (/reset forgets the conversation, /exit or Ctrl-D quits)
    baregrad serve [MODEL]            OpenAI-compatible HTTP server on 127.0.0.1:8000
    baregrad embed "text" ...         sentence embeddings; cosine similarities for two or more texts
    baregrad onnx MODEL.onnx          inputs, outputs and op counts; --input name=x.npy runs it, --bench times it
    baregrad viz TRACE.json|SCRIPT.py the viz page (graphs, kernels, sources, timeline) of a saved profile, or of
                                      a script run under the profiler, on http://127.0.0.1:8642/

MODEL is a GGUF file, or a short name from baregrad.models.registry (default SmolLM2-135M-Instruct). Models ship
as pip packages; a missing one is reported with the command that installs it. Model code is imported only when
a command needs it, so `baregrad devices` and `--help` stay fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Callable, Sequence, TextIO

from baregrad import config
from baregrad.errors import Error
from baregrad.models.generate import GenerationStats, LanguageModel, generate
from baregrad.models.registry import DEFAULT_EMBEDDER, DEFAULT_LLM, ModelKind, model_display_name, resolve_model
from baregrad.models.sampling import SamplingParams

DEMO_PROMPT = "What is the capital of France?"


class CLIError(Error):
    """A failure the CLI reports as one line on stderr, with exit code 1 and no traceback."""


# ---------------------------------------------------------------------------------------------------------------
# model loading (lazy: the model code is heavy and written elsewhere)


def load_language_model(spec: str | None, device: str | None) -> LanguageModel:
    """Load a GGUF language model by path or short name; it follows baregrad.models.generate.LanguageModel."""
    path = resolve_model(spec or DEFAULT_LLM, ModelKind.LLM)
    try:
        from baregrad.models.llama import load_llama
    except ImportError as exc:
        raise CLIError(f"the llama model code is not available ({exc})") from None
    return load_llama(str(path), device=device)


def load_embedder(spec: str | None, device: str | None) -> Any:
    """Load a BERT sentence embedder (a folder or short name); it has .embed(list[str]) -> unit vectors."""
    path = resolve_model(spec or DEFAULT_EMBEDDER, ModelKind.EMBEDDING)
    try:
        from baregrad.models.bert import load_bert
    except ImportError as exc:
        raise CLIError(f"the BERT model code is not available ({exc})") from None
    return load_bert(str(path)) if device is None else load_bert(str(path), device=device)


# ---------------------------------------------------------------------------------------------------------------
# arguments


def _sampling_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("model and sampling")
    group.add_argument("--model", help=f"GGUF path or short name (default: {DEFAULT_LLM})")
    group.add_argument("--device", help="device to run on, e.g. CPU, CUDA, NV (default: the fastest that works)")
    group.add_argument("--max-tokens", type=int, default=256, help="most tokens to generate (default: 256)")
    group.add_argument("--temperature", type=float, default=0.0, help="0 is greedy (default: 0)")
    group.add_argument("--top-k", type=int, default=0, help="sample from the k best tokens (default: off)")
    group.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default: 1, off)")
    group.add_argument("--repeat-penalty", type=float, default=1.0, help="repetition penalty (default: 1, off)")
    group.add_argument("--seed", type=int, help="seed for reproducible sampling")
    return parent


def build_parser() -> argparse.ArgumentParser:
    common = _sampling_options()
    parser = argparse.ArgumentParser(prog="baregrad", description="baregrad: run, chat with and serve models.",
                                     epilog="With no command, answers a demo question with the default model.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("devices", help="list devices and whether they work")
    run = commands.add_parser("run", parents=[common], help="answer one prompt")
    run.add_argument("words", nargs="+", metavar="[MODEL] PROMPT", help="optional model, then the prompt")
    run.add_argument("--raw", action="store_true", help="send the prompt as is, without the chat template")
    run.add_argument("--system", help="system prompt")
    chat = commands.add_parser("chat", parents=[common], help="interactive chat")
    chat.add_argument("model_arg", nargs="?", metavar="MODEL")
    chat.add_argument("--system", help="system prompt")
    serve = commands.add_parser("serve", parents=[common], help="OpenAI-compatible HTTP server")
    serve.add_argument("model_arg", nargs="?", metavar="MODEL")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument("--parallel", "-np", type=int, metavar="N",
                       help="requests decoded together, one batched step at a time (default: 2 per core, 4..16)")
    serve.add_argument("--ctx-size", "-c", type=int, metavar="POSITIONS",
                       help="KV-cache positions shared by all requests; more requests wait (default: the model's "
                            "context, at least 512 per slot)")
    serve.add_argument("--embedding-model", metavar="MODEL",
                       help=f"also serve /v1/embeddings with this BERT model (folder or short name, e.g. "
                            f"{DEFAULT_EMBEDDER})")
    embed = commands.add_parser("embed", help="sentence embeddings and cosine similarities")
    embed.add_argument("texts", nargs="+", metavar="TEXT")
    embed.add_argument("--model", help=f"model folder or short name (default: {DEFAULT_EMBEDDER})")
    embed.add_argument("--device", help="device to run on")
    embed.add_argument("--similarity", action="store_true", help="print cosine similarities (default for 2+ texts)")
    embed.add_argument("--vectors", action="store_true", help="print the vectors even for 2+ texts")
    onnx = commands.add_parser("onnx", help="describe, run or time an ONNX model")
    onnx.add_argument("path", metavar="MODEL.onnx")
    onnx.add_argument("--input", action="append", default=[], metavar="NAME=FILE.npy", help="run with this input")
    onnx.add_argument("--out", metavar="DIR", help="where outputs go as NAME.npy (default: next to the model)")
    onnx.add_argument("--bench", action="store_true", help="time it (beside onnxruntime where installed)")
    onnx.add_argument("--device", help="device to run on")
    onnx.add_argument("--threads", type=int, default=2, help="CPU threads for both runtimes (default: 2)")
    onnx.add_argument("--repeat", type=int, default=10, help="timed calls for --bench (default: 10)")
    onnx.add_argument("--dim", action="append", default=[], metavar="NAME=N", help="size of a named dim (bench)")
    viz = commands.add_parser("viz", help="serve the viz page of a profile (TRACE.json) or of a script's run")
    viz.add_argument("target", metavar="TRACE.json|SCRIPT.py")
    viz.add_argument("script_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="the script's arguments (options for viz itself go before TRACE/SCRIPT)")
    viz.add_argument("--port", type=int, default=8642, help="port on 127.0.0.1 (default: 8642)")
    viz.add_argument("--open", action="store_true", help="open the page in a web browser")
    return parser


def cmd_viz(args: argparse.Namespace) -> int:
    from baregrad.profile.viz.command import run_viz
    return run_viz(args.target, args.script_args, args.port, args.open)


def sampling_params(args: argparse.Namespace) -> SamplingParams:
    return SamplingParams(temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                          repetition_penalty=args.repeat_penalty, seed=args.seed, max_tokens=args.max_tokens)


def _model_spec(args: argparse.Namespace, positional: str | None) -> str | None:
    if positional and args.model and positional != args.model:
        raise CLIError(f"two models given: {positional!r} and --model {args.model!r}")
    return positional or args.model


# ---------------------------------------------------------------------------------------------------------------
# commands


def _stream_answer(model: LanguageModel, messages: list[dict] | None, prompt: str, params: SamplingParams,
                   out: TextIO) -> tuple[str, GenerationStats]:
    """Generate and print the answer as it comes; return its text and stats."""
    tokenizer = model.tokenizer
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True) if messages is not None else prompt
    texts, stats = [], GenerationStats()
    for event in generate(model, tokenizer.encode(text), params):
        out.write(event.text)
        out.flush()
        texts.append(event.text)
        stats = event.stats
    out.write("\n")
    return "".join(texts), stats


def _print_stats(stats: GenerationStats, err: TextIO) -> None:
    err.write(f"prompt: {stats.prompt_tokens} tokens, {stats.prompt_tokens_per_second:.1f} tok/s | "
              f"generation: {stats.generated_tokens} tokens, {stats.generation_tokens_per_second:.1f} tok/s\n")


def _messages(system: str | None, prompt: str) -> list[dict]:
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]


def cmd_run(args: argparse.Namespace) -> int:
    words = args.words
    if len(words) > 2:
        raise CLIError("run takes [MODEL] PROMPT: quote the prompt")
    spec = _model_spec(args, words[0] if len(words) == 2 else None)
    model = load_language_model(spec, args.device)
    messages = None if args.raw else _messages(args.system, words[-1])
    _, stats = _stream_answer(model, messages, words[-1], sampling_params(args), sys.stdout)
    _print_stats(stats, sys.stderr)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    model = load_language_model(_model_spec(args, args.model_arg), args.device)
    params = sampling_params(args)
    history = [{"role": "system", "content": args.system}] if args.system else []
    print("chat with the model: /reset forgets the conversation, /exit or Ctrl-D quits", file=sys.stderr)
    while True:
        try:
            line = input("> ")
        except EOFError:
            print(file=sys.stderr)
            return 0
        if line.strip() in ("/exit", "/quit"):
            return 0
        if line.strip() == "/reset":
            history = history[:1] if args.system else []
            continue
        if not line.strip():
            continue
        history.append({"role": "user", "content": line})
        answer, stats = _stream_answer(model, history, "", params, sys.stdout)
        history.append({"role": "assistant", "content": answer})
        _print_stats(stats, sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    from baregrad.serve import serve  # lazy: http.server is not needed by the other commands
    spec = _model_spec(args, args.model_arg)
    for name in ("parallel", "ctx_size"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}")
    model = load_language_model(spec, args.device)
    embedder = load_embedder(args.embedding_model, args.device) if args.embedding_model else None
    serve(model, host=args.host, port=args.port, model_name=model_display_name(spec or DEFAULT_LLM),
          parallel=args.parallel, ctx_size=args.ctx_size, embedder=embedder)
    return 0


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity (the vectors need not be normalized)."""
    dot = sum(x * y for x, y in zip(a, b))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def cmd_embed(args: argparse.Namespace) -> int:
    embedder = load_embedder(args.model, args.device)
    vectors = embedder.embed(list(args.texts))
    if args.vectors or (len(args.texts) == 1 and not args.similarity):
        for vector in vectors:
            print(json.dumps([round(float(x), 6) for x in vector]))
        return 0
    if len(args.texts) < 2:
        raise CLIError("--similarity needs two or more texts")
    for i in range(len(vectors)):
        for j in range(i + 1, len(vectors)):
            print(f"{cosine(vectors[i], vectors[j]):.4f}\t{args.texts[i]!r}\t{args.texts[j]!r}")
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    try:
        from baregrad.device import describe_devices
    except ImportError as exc:
        raise CLIError(f"device discovery is not available ({exc})") from None
    rows = describe_devices()
    width = max((len(name) for name, _, _ in rows), default=6)
    for name, works, reason in rows:
        print(f"{name:<{width}}  {'ok' if works else 'no':<3} {reason}")
    return 0


def cmd_onnx(args: argparse.Namespace) -> int:
    config.default_omp_threads(args.threads)  # before the first CPU kernel loads
    from baregrad.onnx.tool import run_tool
    try:
        dims = {k: int(v) for k, _, v in (d.partition("=") for d in args.dim)}
    except ValueError:
        raise CLIError(f"--dim takes NAME=N, got {args.dim}") from None
    return run_tool(args.path, args.input, args.out, args.bench, args.device, args.threads, args.repeat, dims,
                    sys.stdout)


def cmd_demo(args: argparse.Namespace) -> int:
    """No arguments: answer the demo question with the default model, streamed."""
    demo = build_parser().parse_args(["run", DEMO_PROMPT])
    print(f"> {DEMO_PROMPT}", file=sys.stderr)
    return cmd_run(demo)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_demo, "devices": cmd_devices, "run": cmd_run, "chat": cmd_chat, "serve": cmd_serve,
    "embed": cmd_embed, "onnx": cmd_onnx, "viz": cmd_viz,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 error, 2 bad usage, 130 interrupted)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return COMMANDS[args.command](args)
    except Error as exc:  # baregrad's own errors (missing model, bad argument, bad file): one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
