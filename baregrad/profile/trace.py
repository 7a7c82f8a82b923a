"""Chrome Trace Event Format export (opened by Perfetto and chrome://tracing) and the viz page's data.

One process per track: "host" (realize, schedule, compile, kernel calls as Python sees them, JIT replays) and
one per device (kernel execution, copies, allocations, and a counter of live bytes). Timestamps are microseconds.
The viz data rides along under the top-level key "baregradViz" (trace viewers ignore keys they do not know), so
one file serves both Perfetto and `baregrad viz FILE`.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from baregrad.profile.profiler import MEMORY_ARGS, describe_peak, peak_shares

HOST_PID = 1
THREADS = {"native": 1, "realize": 1, "rewrite": 1, "schedule": 1, "compile": 2, "kernel": 1, "jit": 1, "copy": 2,
           "alloc": 3, "free": 3}
THREAD_NAMES = {"host": {1: "python (realize, rewrite, schedule, launch)", 2: "compile"},
                "device": {1: "kernels", 2: "copies", 3: "memory"}}


def trace_events(prof: Any) -> list[dict[str, Any]]:
    pids = {"host": HOST_PID}
    for e in prof.events:
        pids.setdefault(e.track, len(pids) + 1)
    out: list[dict[str, Any]] = []
    for track, pid in pids.items():
        role = "host" if track == "host" else "device"
        out.append({"name": "process_name", "ph": "M", "pid": pid, "tid": 0,
                    "args": {"name": "host" if role == "host" else f"device {track}"}})
        if role == "device" and prof.device_peak(track) is not None:  # the roofline the "% peak" args divide by
            out.append({"name": "process_labels", "ph": "M", "pid": pid, "tid": 0,
                        "args": {"labels": "peak " + describe_peak(prof.device_peak(track))}})
        for tid, name in THREAD_NAMES[role].items():
            out.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}})
    for e in prof.events:
        pid, tid = pids[e.track], THREADS.get(e.cat, 1)
        if e.cat in ("alloc", "free"):
            args = event_args(e, prof)
            out.append({"name": e.name, "cat": e.cat, "ph": "i", "s": "t", "ts": e.ts, "pid": pid, "tid": tid,
                        "args": args})
            out.append({"name": "live bytes", "cat": "memory", "ph": "C", "ts": e.ts, "pid": pid,
                        "args": {"live": args["live"]}})
        else:
            out.append({"name": e.name, "cat": e.cat, "ph": "X", "ts": e.ts, "dur": e.dur, "pid": pid, "tid": tid,
                        "args": event_args(e, prof)})
    return out


def event_args(e: Any, prof: Any = None) -> dict[str, Any]:
    """An event's arguments; a kernel's with its achieved GFLOP/s and GB/s (FLOPs and bytes over its duration),
    and on a device track, those as % of the device's peak (device/peak.py) where the peak is known."""
    if e.cat in ("alloc", "free"):
        args = dict(zip(MEMORY_ARGS, e.args))
        args["dtype"] = args["dtype"].name
        return args
    if e.cat != "kernel" or e.dur <= 0:
        return e.args
    per_second = 1e6 / e.dur / 1e9
    gflops, gbps = e.args["flops"] * per_second, e.args["bytes"] * per_second
    args = {**e.args, "GFLOP/s": round(gflops, 3), "GB/s": round(gbps, 3)}
    if prof is not None and e.track != "host":
        flop_share, bw_share = peak_shares(gflops, gbps, prof.device_peak(e.track), e.args.get("flop_class", ""))
        if flop_share is not None:  # 4 significant digits: a tiny kernel's share is small, not zero
            args["% peak GFLOP/s"] = float(f"{flop_share:.4g}")
        if bw_share is not None:
            args["% peak GB/s"] = float(f"{bw_share:.4g}")
    return args



def viz_data(prof: Any) -> dict[str, Any]:
    schedules = sorted(prof.schedules.values(), key=lambda s: s.sid)
    return {"schedules": [{"sid": s.sid, "device": s.device, "kernels": [asdict(k) for k in s.kernels],
                           "nodes": s.nodes} for s in schedules],
            "events": [{"name": e.name, "cat": e.cat, "ts": e.ts, "dur": e.dur, "track": e.track,
                        "args": event_args(e, prof)} for e in prof.events],
            "peaks": {track: asdict(peak) for track in {e.track for e in prof.events if e.track != "host"}
                      if (peak := prof.device_peak(track)) is not None}}


def chrome_trace(prof: Any) -> dict[str, Any]:
    return {"traceEvents": trace_events(prof), "displayTimeUnit": "ms", "baregradViz": viz_data(prof)}


def write_chrome_trace(prof: Any, path: str) -> None:
    with open(path, "w") as f:
        json.dump(chrome_trace(prof), f, default=str)
