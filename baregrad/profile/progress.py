"""Progress bars on stderr for long work (model loading, compiling a model's kernels, prompt processing).

Shown only when stderr is a terminal and BAREGRAD_QUIET is not set; tqdm draws them where it is installed,
else a small built-in bar. Usage:

    with progress(total=n_bytes, desc="loading model", unit="B") as bar:
        bar.update(chunk)
"""
from __future__ import annotations

import contextlib
import importlib.util
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self, TextIO, TypeVar

from baregrad import config

T = TypeVar("T")
MIN_SECONDS = 0.5  # work that ends sooner never draws a bar (nobody needs a flash of text)


def enabled(stream: TextIO | None = None) -> bool:
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return not config.quiet() and bool(isatty and isatty())


class Bar:
    """The built-in bar: `desc  42% |#####     | 42/100 unit  [2.1s]`, redrawn in place at most 10 times a second."""

    def __init__(self, total: int, desc: str, unit: str, stream: TextIO) -> None:
        self.total, self.desc, self.unit, self.stream = total, desc, unit, stream
        self.n, self.postfix = 0, ""
        self.start = self.last = time.monotonic()
        self.drawn = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.start >= MIN_SECONDS and (now - self.last >= 0.1 or self.n >= self.total):
            self.last = now
            self.draw()

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def draw(self) -> None:
        frac = min(self.n / self.total, 1.0) if self.total else 0.0
        bar = "#" * int(frac * 24)
        count = f"{_amount(self.n, self.unit)}/{_amount(self.total, self.unit)}"
        extra = f", {self.postfix}" if self.postfix else ""
        elapsed = time.monotonic() - self.start
        self.stream.write(f"\r{self.desc} {frac:4.0%} |{bar:<24}| {count}{extra} [{elapsed:.1f}s]")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.draw()
            self.stream.write("\n")
            self.stream.flush()


class Silent:
    """What progress() gives when nothing may be drawn: the same methods, doing nothing."""

    n = 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


class Progress:
    """Context manager around a tqdm bar, the built-in Bar, or Silent."""

    def __init__(self, total: int, desc: str, unit: str = "it", stream: TextIO | None = None) -> None:
        stream = stream if stream is not None else sys.stderr
        self.bar: Any
        if not enabled(stream):
            self.bar = Silent()
        elif importlib.util.find_spec("tqdm") is not None and stream is sys.stderr:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", delay=MIN_SECONDS,
                            leave=False, file=stream)
        else:
            self.bar = Bar(total, desc, unit, stream)

    def __enter__(self) -> Any:
        return self.bar

    def __exit__(self, *exc: object) -> None:
        self.bar.close()


def progress(total: int, desc: str, unit: str = "it", stream: TextIO | None = None) -> Progress:
    return Progress(total, desc, unit, stream)


def _amount(n: float, unit: str) -> str:
    if unit != "B":
        return f"{int(n)}{' ' + unit if unit != 'it' else ''}"
    for prefix in ("", "K", "M", "G"):
        if n < 1000 or prefix == "G":
            return f"{n:.0f} {prefix}B" if not prefix else f"{n:.1f} {prefix}B"
        n /= 1000
    return f"{n:.1f} GB"


COMPILE_BAR_MIN = 16  # fewer uncompiled kernels than this compile fast enough to need no bar


def tracked(items: Iterable[T], total: int, desc: str, unit: str = "it",
            size: Callable[[T], int] = lambda item: 1, stream: TextIO | None = None) -> Iterator[T]:
    """Yield items, advancing a bar by size(item) after each (total: the sum of the sizes)."""
    with progress(total, desc, unit, stream) as bar:
        for item in items:
            yield item
            bar.update(size(item))


def compile_bar_wanted(n_kernels: int) -> bool:
    return n_kernels >= COMPILE_BAR_MIN and enabled()


def precompile(steps: list[Any], compile_step: Callable[[Any], Any], workers: int = 1) -> None:
    """Compile kernels up front on `workers` threads (the device's compiler runs as a separate process, so the
    threads only wait on it), under a bar (n of N, with the disk-cache hits) when there are many."""
    from concurrent.futures import ThreadPoolExecutor

    from baregrad import stats
    show = compile_bar_wanted(len(steps))
    before = stats.counters().get("compiles", 0)
    with progress(len(steps), "compiling kernels", "kernel") if show else contextlib.nullcontext() as bar:
        with ThreadPoolExecutor(max(1, min(workers, len(steps)))) as pool:
            for done, _ in enumerate(pool.map(compile_step, steps), 1):
                if show:
                    hits = done - (stats.counters().get("compiles", 0) - before)
                    bar.set_postfix_str(f"{hits} from cache")
                    bar.update(1)


class Working:
    """A bar for one long call whose progress cannot be counted (prompt processing is one batched forward):
    `desc ... 3.2s`, redrawn by a daemon thread, erased when the call returns."""

    def __init__(self, desc: str, stream: TextIO | None = None) -> None:
        self.desc, self.stream = desc, stream if stream is not None else sys.stderr
        self.done = threading.Event()
        self.thread: threading.Thread | None = None
        self.width = 0

    def __enter__(self) -> Self:
        if enabled(self.stream):
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def _run(self) -> None:
        start = time.monotonic()
        if self.done.wait(MIN_SECONDS):
            return
        while not self.done.wait(0.25):
            text = f"\r{self.desc} ... {time.monotonic() - start:.1f}s"
            self.width = len(text)
            self.stream.write(text)
            self.stream.flush()

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()
            if self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()


def working(desc: str, stream: TextIO | None = None) -> Working:
    return Working(desc, stream)
