"""Serve the viz page and its data on 127.0.0.1 with the standard library's HTTP server.

GET /            index.html (with app.js and style.css beside it; no CDN, no build step)
GET /data.json   the profiler's viz data (Profiler.viz_data(), or the "baregradViz" key of a saved trace)
"""
from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from baregrad.errors import FormatError

STATIC = {"/": ("index.html", "text/html"), "/index.html": ("index.html", "text/html"),
          "/app.js": ("app.js", "text/javascript"), "/style.css": ("style.css", "text/css")}
HERE = os.path.dirname(os.path.abspath(__file__))


def make_handler(payload: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/data.json":
                self.reply(200, "application/json", payload)
            elif path in STATIC:
                name, kind = STATIC[path]
                with open(os.path.join(HERE, name), "rb") as f:
                    self.reply(200, kind + "; charset=utf-8", f.read())
            else:
                self.reply(404, "text/plain", b"not found")

        def reply(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass  # quiet: the page fetches a few files, nobody needs them on stderr

    return Handler


def start(data: dict[str, Any], port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start serving in a daemon thread; returns the server (server.server_address has the port; .shutdown())."""
    server = ThreadingHTTPServer((host, port), make_handler(json.dumps(data, default=str).encode()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def serve_forever(data: dict[str, Any], port: int = 8642, open_browser: bool = False) -> None:
    """Serve until Ctrl-C, printing the address."""
    import sys
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(json.dumps(data, default=str).encode()))
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"baregrad viz: {url}  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def load_trace(path: str) -> dict[str, Any]:
    """The viz data saved in a trace written by prof.export_chrome_trace / BAREGRAD_PROFILE."""
    try:
        with open(path) as f:
            trace = json.load(f)
    except (OSError, ValueError) as e:
        raise FormatError(f"cannot read profile {path}: {e}") from e
    data = trace.get("baregradViz") if isinstance(trace, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("schedules"), list):
        raise FormatError(f"{path} is not a baregrad profile: no 'baregradViz' object with 'schedules' (write one "
                          "with BAREGRAD_PROFILE=trace.json or prof.export_chrome_trace)")
    return data
