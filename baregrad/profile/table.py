"""prof.table(): kernels and phases grouped by name and sorted by time, like torch.profiler's
key_averages().table(). Device kernel time comes from the device track; phases (rewrite, schedule, compile, copies,
JIT replays) from the host track. A kernel's achieved GFLOP/s and GB/s are also shown as % of its device's peak
(device/peak.py), where that peak is known."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baregrad.profile.profiler import describe_peak, peak_shares

PHASES = ("native", "rewrite", "schedule", "compile", "copy", "jit")


@dataclass
class Row:
    name: str
    kind: str  # kernel, or the phase (native: a model's hand-written kernels; schedule, compile, copy, jit)
    calls: int = 0
    total_us: float = 0.0
    min_us: float = float("inf")
    max_us: float = 0.0
    flops: int = 0
    nbytes: int = 0
    flop_class: str = ""
    peak: Any = None  # the device's Peak (kernels), or None

    @property
    def peak_flops_pct(self) -> float | None:
        return peak_shares(self.gflops, self.gbps, self.peak, self.flop_class)[0]

    @property
    def peak_bytes_pct(self) -> float | None:
        return peak_shares(self.gflops, self.gbps, self.peak, self.flop_class)[1]

    @property
    def avg_us(self) -> float:
        return self.total_us / self.calls if self.calls else 0.0

    @property
    def gflops(self) -> float:
        return self.flops / self.total_us / 1e3 if self.total_us > 0 else 0.0

    @property
    def gbps(self) -> float:
        return self.nbytes / self.total_us / 1e3 if self.total_us > 0 else 0.0


def key_averages(prof: Any) -> list[Row]:
    rows: dict[tuple[str, str], Row] = {}
    for e in prof.events:
        if e.cat == "kernel" and e.track != "host":
            kind = "kernel"
        elif e.cat in PHASES and not (e.cat == "copy" and e.track == "host"):
            kind = e.cat
        else:
            continue
        name = e.args.get("kernel", e.name) if e.cat == "compile" else e.name
        row = rows.get((kind, name))
        if row is None:
            row = rows[(kind, name)] = Row(name, kind)
            if kind == "kernel":  # same-named kernels on two devices share a row: the first one's peak is used
                row.flop_class, row.peak = e.args.get("flop_class", ""), prof.device_peak(e.track)
        row.calls += 1
        row.total_us += e.dur
        row.min_us, row.max_us = min(row.min_us, e.dur), max(row.max_us, e.dur)
        row.flops += e.args.get("flops", 0) if kind == "kernel" else 0
        row.nbytes += e.args.get("bytes", 0)
    return list(rows.values())


def kernel_total_us(prof: Any) -> float:
    return sum(r.total_us for r in key_averages(prof) if r.kind == "kernel")


SORT_KEYS = {"total": lambda r: -r.total_us, "calls": lambda r: -r.calls, "avg": lambda r: -r.avg_us,
             "name": lambda r: r.name}


def format_table(prof: Any, sort_by: str = "total", row_limit: int = 30) -> str:
    rows = sorted(key_averages(prof), key=SORT_KEYS.get(sort_by, SORT_KEYS["total"]))
    kernel_total = sum(r.total_us for r in rows if r.kind == "kernel")
    width = max([30] + [min(len(r.name), 48) for r in rows])
    head = (f"{'Name':<{width}} {'Kind':<8} {'Calls':>6} {'Total':>11} {'%kern':>6} {'Avg':>10} {'Min':>10} "
            f"{'Max':>10} {'GFLOP/s':>9} {'GB/s':>9} {'%pFLOP':>7} {'%pBW':>6}")
    rule = "-" * len(head)
    lines = [rule, head, rule]
    for r in rows[:row_limit]:
        share = f"{100 * r.total_us / kernel_total:5.1f}%" if r.kind == "kernel" and kernel_total else ""
        rates = (f"{r.gflops:9.2f} {r.gbps:9.2f} {_pct(r.peak_flops_pct):>7} {_pct(r.peak_bytes_pct):>6}"
                 if r.kind == "kernel" else f"{'':>9} {r.gbps:9.2f}" if r.kind == "copy" else f"{'':>9} {'':>9}")
        lines.append(f"{r.name[:width]:<{width}} {r.kind:<8} {r.calls:>6} {format_time(r.total_us):>11} {share:>6} "
                     f"{format_time(r.avg_us):>10} {format_time(r.min_us):>10} {format_time(r.max_us):>10} {rates}")
    if len(rows) > row_limit:
        lines.append(f"... {len(rows) - row_limit} more rows")
    lines.append(rule)
    n_launches = sum(r.calls for r in rows if r.kind == "kernel")
    lines.append(f"Kernel time total: {format_time(kernel_total)} in {n_launches} launches")
    for phase in PHASES:
        total = sum(r.total_us for r in rows if r.kind == phase)
        if total:
            lines.append(f"{phase.capitalize()} time total: {format_time(total)}")
    peaks = ", ".join(f"{d} {_bytes(p)}" for d, p in prof.peak.items())
    if peaks:
        lines.append(f"Peak memory while profiling: {peaks}")
    for device in dict.fromkeys(e.track for e in prof.kernel_events()):
        peak = prof.device_peak(device)
        lines.append(f"{device} %pFLOP / %pBW: of " + (describe_peak(peak) if peak is not None else "no known peak"))
    return "\n".join(lines)


def _pct(share: float | None) -> str:
    return "" if share is None else f"{share:.1f}%" if share < 999.5 else f"{share:.0f}%"



def format_time(us: float) -> str:
    if us == float("inf"):
        return "-"
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GiB"
