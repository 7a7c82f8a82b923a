"""`baregrad viz`: serve the viz page for a saved profile, or run a script under the profiler and serve its run."""
from __future__ import annotations

import runpy
import sys

from baregrad.errors import ArgumentError
from baregrad.profile.profiler import Profiler
from baregrad.profile.viz.server import load_trace, serve_forever


def run_viz(target: str, script_args: list[str], port: int, open_browser: bool) -> int:
    if target.endswith(".py"):
        data = profile_script(target, script_args)
    elif target.endswith(".json"):
        if script_args:
            raise ArgumentError(f"unexpected arguments after {target}: {' '.join(script_args)} (options such as "
                                "--port go before the file: baregrad viz --port 8000 trace.json)")
        data = load_trace(target)
    else:
        raise ArgumentError(f"baregrad viz takes a profile (.json, from BAREGRAD_PROFILE=trace.json) or a script "
                            f"(.py) to run under the profiler; got {target!r}")
    serve_forever(data, port=port, open_browser=open_browser)
    return 0


def profile_script(path: str, args: list[str]) -> dict:
    """Run a Python script as __main__ under the profiler; its viz data, even if it exits early."""
    argv = sys.argv
    sys.argv = [path, *args]
    prof = Profiler()
    try:
        with prof:
            runpy.run_path(path, run_name="__main__")
    except SystemExit:
        pass
    finally:
        sys.argv = argv
    return prof.viz_data()
