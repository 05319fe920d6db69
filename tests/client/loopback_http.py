"""What the loopback stand-ins of the model APIs share (anthropic_standin.py, gemini_standin.py): a
threaded HTTP server on a fresh 127.0.0.1 port, and a complete answer with its length."""

from __future__ import annotations

import http.server
import threading


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 (the clients keep the connection), the request body read whole, no log lines."""

    protocol_version = "HTTP/1.1"

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def log_message(self, *args) -> None:
        pass


class LoopbackServer:
    """Subclasses call `_serve(Handler)` in their `__enter__`; `__exit__` stops the server."""

    url = ""

    def _serve(self, handler: type) -> None:
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def answer(handler: http.server.BaseHTTPRequestHandler, data: bytes, kind: str, *, status: int = 200,
           stream: bool = False) -> None:
    """Send `data` with `status` and content type `kind` (no-cache when it is a stream)."""
    handler.send_response(status)
    handler.send_header("content-type", kind)
    if stream:
        handler.send_header("cache-control", "no-cache")
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
