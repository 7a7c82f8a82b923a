"""Whole-run profiling from the environment: BAREGRAD_PROFILE=trace.json and VIZ=1 (see config.py).

A profiler starts at `import baregrad`; at exit the trace is written (and the table printed on stderr), and with
VIZ=1 the viz page is served until Ctrl-C."""
from __future__ import annotations

import atexit
import sys

from baregrad import config
from baregrad.profile.profiler import Profiler


def start_from_environment() -> Profiler | None:
    path, viz = config.profile_path(), config.viz_enabled()
    if not path and not viz:
        return None
    prof = Profiler().start()
    atexit.register(finish, prof, path, viz)
    return prof


def finish(prof: Profiler, path: str | None, viz: bool) -> None:
    prof.stop()
    if path:
        prof.export_chrome_trace(path)
        print(prof.table(), file=sys.stderr)
        print(f"baregrad: profile written to {path} (open it in https://ui.perfetto.dev or `baregrad viz {path}`)",
              file=sys.stderr)
    if viz:
        from baregrad.profile.viz.server import serve_forever
        serve_forever(prof.viz_data(), port=config.viz_port())
