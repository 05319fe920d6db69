"""The HTTP side: a threaded loopback server, the journal, faults, and the ``Emulator`` class."""

from __future__ import annotations

import ipaddress
import json
import random
import selectors
import socket
import threading
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import api
from .clock import ManualClock
from .faults import HTML_PAGE, PROCESSED_KINDS, Fault, FaultSet, duplicate_keys, gzip_bomb, nan_json, \
    taint_strings, truncate_json
from .http_util import PROBLEM, ApiError, Headers, Response, dumps, error_response, json_response, \
    problem, problem_obj, reason
from .model import DEFAULT_ORG_ID, Store
from .permissions import ALL_PERMISSIONS

CONTROL_PREFIX = "/_emulator/"


@dataclass
class JournalEntry:
    method: str
    path: str
    route: str | None
    query: dict
    headers: Headers
    body: bytes
    json: Any
    status: int | None
    time: float
    fault: str | None = None

    def to_dict(self) -> dict:
        return {"method": self.method, "path": self.path, "route": self.route, "query": self.query,
                "headers": dict(self.headers), "body": self.body.decode("utf-8", "replace"),
                "json": self.json, "status": self.status, "time": self.time, "fault": self.fault}


class _TooBig(Exception):
    pass


class _BadFraming(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], handler: type[BaseHTTPRequestHandler], emu: Emulator,
                 family: socket.AddressFamily = socket.AF_INET) -> None:
        self.address_family = family
        self.emu = emu
        self._active: dict[threading.Thread, socket.socket] = {}
        self._alock = threading.Lock()
        super().__init__(addr, handler)

    def process_request_thread(self, request, client_address):
        t = threading.current_thread()
        with self._alock:
            self._active[t] = request
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._alock:
                self._active.pop(t, None)

    def handle_error(self, request, client_address):
        import sys
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ValueError)):
            return  # client went away, timeouts, shutdown: not interesting
        self.emu.internal_errors.append(traceback.format_exc())

    def abort_connections(self, timeout: float = 2.0) -> None:
        with self._alock:
            items = list(self._active.items())
        for _, s in items:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t, _ in items:
            t.join(timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devin-emulator/1.0"
    sys_version = ""
    timeout = 30
    # Narrows BaseRequestHandler.server (typed socketserver.BaseServer): this handler is only
    # ever instantiated by _Server, which carries the emulator.  Annotation only, no attribute.
    server: _Server

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr logging
        pass

    def setup(self):
        super().setup()
        try:  # headers and body go out in separate writes: avoid Nagle/delayed-ACK stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def do_GET(self):
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    # -- plumbing -----------------------------------------------------------------------------
    @property
    def emu(self) -> Emulator:
        return self.server.emu

    def _read_body(self, cap: int) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            buf = bytearray()
            while True:
                line = self.rfile.readline(65537)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise _BadFraming("bad chunk size") from None
                if size == 0:
                    while True:
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    return bytes(buf)
                if len(buf) + size > cap:
                    raise _TooBig(len(buf) + size)
                buf += self.rfile.read(size)
                self.rfile.readline(65537)
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl.strip())
            if n < 0:
                raise ValueError
        except ValueError:
            raise _BadFraming("bad Content-Length") from None
        if n > cap:
            raise _TooBig(n)
        data = self.rfile.read(n)
        if len(data) < n:
            raise _BadFraming("short body")
        return data

    def _drain(self, declared: int, cap: int) -> None:
        """Read and discard a refused body of moderate size, so the client reads our 413
        instead of a connection reset; a huge one is cut off by closing the connection."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return
        if declared > cap + 16 * 2 ** 20:
            return
        remaining = declared
        try:
            while remaining > 0:
                got = self.rfile.read(min(remaining, 1 << 16))
                if not got:
                    break
                remaining -= len(got)
        except OSError:
            pass

    def _send(self, resp: Response, entry: JournalEntry | None) -> None:
        if entry is not None:
            entry.status = resp.status  # before any byte leaves: a client may read the journal at once
        try:
            self.send_response(resp.status)
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if "Content-Length" not in resp.headers:
                self.send_header("Content-Length", str(len(resp.body)))
            if self.close_connection or self.emu._stopping.is_set():
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD" and resp.body:
                self.wfile.write(resp.body)
        except OSError:
            self.close_connection = True

    def _headers(self) -> Headers:
        h = Headers()
        for k, v in self.headers.items():
            if k in h:
                dict.__setitem__(h, h._find(k), h[k] + ", " + v)
            else:
                h[k] = v
        return h

    # -- main ---------------------------------------------------------------------------------
    def _handle(self) -> None:
        emu = self.emu
        split = urlsplit(self.path)
        path = split.path or "/"
        query = parse_qs(split.query, keep_blank_values=True)
        headers = self._headers()
        method = self.command.upper()
        if path.startswith(CONTROL_PREFIX):
            return self._control(method, path, headers)
        route, params = api.match(path)
        cap = emu.max_body_bytes
        if route is not None and route.template.endswith("/attachments") and method == "POST":
            cap = emu.max_attachment_bytes + (1 << 20)
        entry = JournalEntry(method, path, route.template if route else None, query, headers, b"",
                             None, None, emu.clock.now())
        emu._record(entry)
        try:
            body = self._read_body(cap)
        except _TooBig as e:
            self.close_connection = True
            self._drain(e.args[0], cap)
            return self._send(problem(413, f"Request body too large ({e.args[0]} bytes; limit {cap})",
                                      path), entry)
        except _BadFraming as e:
            self.close_connection = True
            return self._send(problem(400, f"Malformed request framing: {e}", path), entry)
        entry.body = body
        if body:
            try:
                entry.json = json.loads(body)
            except (ValueError, UnicodeDecodeError):
                entry.json = None

        fault = emu._faults.take(method, entry.route)
        if fault is not None:
            entry.fault = fault.kind
            if fault.kind not in PROCESSED_KINDS:
                return self._unprocessed_fault(fault, entry, path)
            if fault.kind == "delay":
                if emu._stopping.wait(float(fault.params["seconds"])):
                    self.close_connection = True
                    return

        resp = self._process(method, path, split.query, route, params, query, headers, body)

        if fault is not None and fault.kind != "delay":
            if fault.kind == "drop_after_processing":
                self.close_connection = True
                return  # entry.status stays None: nothing was sent
            resp = self._transform(fault, resp)
        self._send(resp, entry)

    def _process(self, method, path, rawq, route, params, query, headers, body) -> Response:
        emu = self.emu
        if route is None:
            if len(path) > 1 and path.endswith("/") and api.match(path.rstrip("/"))[0] is not None:
                loc = path.rstrip("/") + ("?" + rawq if rawq else "")
                return Response(307, b"", None, {"Location": loc})
            return json_response({"detail": "Not Found"}, 404)
        if method not in route.methods:
            return json_response({"detail": "Method Not Allowed"}, 405,
                                 {"Allow": ", ".join(sorted(route.methods))})
        req = api.Request(method, path, route.template, params, query, headers, body)
        with emu.lock:
            try:
                return api.dispatch(emu, req, route)
            except ApiError as e:
                return error_response(e, path)
            except Exception:  # a bug in the emulator: report it loudly
                emu.internal_errors.append(traceback.format_exc())
                return problem(500, "Internal emulator error", path)

    # -- faults -------------------------------------------------------------------------------
    def _unprocessed_fault(self, fault: Fault, entry: JournalEntry, path: str) -> None:
        p, kind = fault.params, fault.kind
        if kind == "drop_before_processing":
            self.close_connection = True
            return
        if kind == "status":
            status = int(p["status"])
            b = p.get("body")
            if b is None:
                resp = Response(status, dumps(problem_obj(status, None, path)), PROBLEM)
            elif isinstance(b, (dict, list)):
                resp = Response(status, dumps(b), p.get("content_type", PROBLEM))
            elif isinstance(b, str):
                resp = Response(status, b.encode(), p.get("content_type", "text/plain; charset=utf-8"))
            else:
                resp = Response(status, bytes(b), p.get("content_type", "application/octet-stream"))
            resp.headers.update({str(k): str(v) for k, v in (p.get("headers") or {}).items()})
            return self._send(resp, entry)
        if kind == "redirect":
            resp = Response(int(p.get("status", 302)), b"", None, {"Location": p["location"]})
            resp.headers.update(p.get("headers") or {})
            return self._send(resp, entry)
        if kind == "html":
            status = int(p.get("status", 502))
            phrase = reason(status).encode()
            body = p.get("body", HTML_PAGE % (status, phrase, status, phrase))
            if isinstance(body, str):
                body = body.encode()
            return self._send(Response(status, body, "text/html"), entry)
        if kind == "oversized":
            return self._stream_big(entry, int(p.get("bytes", 10 * 2 ** 20)), bool(p.get("chunked")),
                                    bool(p.get("close_delimited")))
        if kind == "drip":
            return self._drip(entry, int(p.get("bytes", 10 ** 6)), float(p.get("interval", 0.5)))
        if kind == "gzip_bomb":
            gz = gzip_bomb(int(p.get("inflated_bytes", 200 * 2 ** 20)))
            resp = Response(int(p.get("status", 200)), gz, "application/json",
                            {"Content-Encoding": "gzip"})
            return self._send(resp, entry)
        raise AssertionError(kind)  # pragma: no cover

    def _transform(self, fault: Fault, resp: Response) -> Response:
        p, kind = fault.params, fault.kind
        status = int(p.get("status", resp.status))
        obj = resp.obj
        if obj is None and resp.body:
            try:
                obj = json.loads(resp.body)
            except ValueError:
                obj = None
        if kind == "malformed_json":
            body = truncate_json(resp.body)
            ctype = "application/json"
        elif kind == "nan_json":
            body, ctype = nan_json(obj, p.get("key")), "application/json"
        elif kind == "duplicate_keys":
            body, ctype = duplicate_keys(obj, p.get("key"), p.get("value", "duplicate")), "application/json"
        elif kind == "wrong_content_type":
            body, ctype = resp.body, p.get("content_type", "text/plain")
        elif kind == "taint_strings":
            body, ctype = dumps(taint_strings(obj, str(p.get("text", "")))), resp.headers.get("Content-Type", PROBLEM)
        elif kind == "status_after_processing":  # e.g. a 429 after the create was committed
            body, ctype = dumps(problem_obj(status, "Too Many Requests" if status == 429 else None)), PROBLEM
        else:  # pragma: no cover
            raise AssertionError(kind)
        out = Response(status, body, ctype)
        for k, v in resp.headers.items():
            if k.lower() != "content-type":
                out.headers[k] = v
        return out

    def _stream_big(self, entry: JournalEntry, n: int, chunked: bool, close_delimited: bool) -> None:
        prefix, suffix = b'{"items":[],"has_next_page":false,"end_cursor":null,"padding":"', b'"}'
        pad = max(0, n - len(prefix) - len(suffix))
        self.close_connection = True
        stopping = self.emu._stopping
        entry.status = 200
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif not close_delimited:
                self.send_header("Content-Length", str(len(prefix) + pad + len(suffix)))
            self.send_header("Connection", "close")
            self.end_headers()

            def w(b: bytes) -> None:
                if chunked:
                    self.wfile.write(b"%x\r\n" % len(b) + b + b"\r\n")
                else:
                    self.wfile.write(b)

            w(prefix)
            block = b"x" * 65536
            while pad > 0:
                if stopping.is_set():
                    return
                k = min(pad, len(block))
                w(block if k == len(block) else block[:k])
                pad -= k
            w(suffix)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
        except OSError:
            return

    def _drip(self, entry: JournalEntry, n: int, interval: float) -> None:
        body = b'{"padding":"' + b"x" * max(0, n - 14) + b'"}'
        body = body[:n] if n >= 14 else body
        self.close_connection = True
        stopping = self.emu._stopping
        entry.status = 200
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                if i + 1 < len(body) and stopping.wait(interval):
                    return
        except OSError:
            return

    # -- control API ----------------------------------------------------------------------------
    def _control(self, method: str, path: str, headers: Headers) -> None:
        host = self.client_address[0]
        try:
            loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return self._send(json_response({"detail": "Not Found"}, 404), None)
        try:
            body = self._read_body(1 << 20)
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("control body must be a JSON object")
            out = self.emu._control(method, path[len(CONTROL_PREFIX):].strip("/"), data)
            resp = json_response(out)
        except (_TooBig, _BadFraming) as e:
            self.close_connection = True
            resp = json_response({"detail": str(e)}, 400)
        except KeyError as e:
            resp = json_response({"detail": f"unknown control endpoint or missing field: {e}"}, 404)
        except (ValueError, TypeError) as e:
            resp = json_response({"detail": str(e)}, 400)
        self._send(resp, None)


class Emulator(Store):
    """A faithful local fake of the Devin API (v3, v3beta1, a sliver of v1).

    See docs/emulator.md.  Typical use::

        with Emulator() as emu:
            url, token, org = emu.url, emu.token, emu.org_id
    """

    def __init__(self, clock=None, *, seed: int | None = None, host: str = "127.0.0.1",
                 port: int = 0, org_id: str = DEFAULT_ORG_ID):
        idrng = random.Random(seed) if seed is not None else random.SystemRandom()
        super().__init__(clock if clock is not None else ManualClock(), idrng)
        self.seed = seed
        self.fault_rng = random.Random(seed)
        self._faults = FaultSet(self.fault_rng)
        self._journal: list[JournalEntry] = []
        self._jlock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.host, self.port = host, port
        self.url: str | None = None
        self.internal_errors: list[str] = []
        self.org_id = self.add_org(org_id)
        self.token = self.add_token(org_id=self.org_id, permissions=ALL_PERMISSIONS)

    # ---- life ---------------------------------------------------------------------------------
    def start(self) -> str:
        if self._server is not None:
            assert self.url is not None  # start() sets url right after _server, and nothing unsets it
            return self.url
        try:
            ip = ipaddress.ip_address(self.host if self.host != "localhost" else "127.0.0.1")
        except ValueError:
            raise ValueError("the emulator binds loopback addresses only") from None
        if not ip.is_loopback:
            raise ValueError("the emulator binds loopback addresses only")
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        self._stopping.clear()
        self._server = _Server((str(ip), self.port), _Handler, self, family)
        port = self._server.server_address[1]
        self.url = f"http://[{ip}]:{port}" if ip.version == 6 else f"http://{ip}:{port}"
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, args=(self._server, self._wake[0]),
                                        name=f"devin-emulator:{port}", daemon=True)
        self._thread.start()
        return self.url

    def _serve(self, srv: _Server, wake: socket.socket) -> None:
        """Accept loop; ``stop`` wakes it through a socket pair (no polling delay)."""
        with selectors.DefaultSelector() as sel:
            sel.register(srv, selectors.EVENT_READ)
            sel.register(wake, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is srv and not self._stopping.is_set():
                        # A private socketserver.BaseServer method (accept one connection and
                        # hand it to process_request) that typeshed does not declare.
                        srv._handle_request_noblock()  # type: ignore[attr-defined]

    def stop(self) -> None:
        srv, th = self._server, self._thread
        if srv is None:
            return
        self._stopping.set()
        try:
            self._wake[1].send(b"x")
        except OSError:
            pass
        if th is not None:
            th.join(2.0)
        srv.server_close()
        srv.abort_connections()
        for s in self._wake:
            s.close()
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- faults ---------------------------------------------------------------------------------
    def set_fault(self, method: str, route: str, kind: str, *, times: int | None = 1,
                  probability: float | None = None, **params) -> Fault:
        if route != "*" and route not in api.all_templates():
            raise ValueError(f"unknown route template {route!r}")
        return self._faults.add(method, route, kind, times=times, probability=probability, **params)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        return self._faults.active()

    @staticmethod
    def routes() -> list[str]:
        return api.all_templates()

    # ---- journal --------------------------------------------------------------------------------
    def _record(self, entry: JournalEntry) -> None:
        with self._jlock:
            self._journal.append(entry)

    @property
    def journal(self) -> list[JournalEntry]:
        with self._jlock:
            return list(self._journal)

    def clear_journal(self) -> None:
        with self._jlock:
            self._journal.clear()

    def requests(self, method: str | None = None, route: str | None = None) -> list[JournalEntry]:
        """Journal entries filtered by method and/or route template."""
        return [e for e in self.journal
                if (method is None or e.method == method.upper()) and (route is None or e.route == route)]

    # ---- control API ------------------------------------------------------------------------------
    def _control(self, method: str, name: str, data: dict) -> Any:
        if method == "GET" and name == "journal":
            return {"items": [e.to_dict() for e in self.journal]}
        if method == "GET" and name == "now":
            return {"now": self.clock.now()}
        if method == "GET" and name == "faults":
            return {"items": [{"method": f.method, "route": f.route, "kind": f.kind, "times": f.times,
                               "probability": f.probability, "params": f.params} for f in self.faults]}
        if method != "POST":
            raise KeyError(name)
        if name == "advance":
            return {"now": self.clock.advance(float(data["seconds"]))}
        if name == "fault":
            d = dict(data)
            params = dict(d.pop("params", None) or {})
            method_, route, kind = d.pop("method", "*"), d.pop("route", "*"), d.pop("kind")
            params.update(d)
            self.set_fault(method_, route, kind, **params)
            return {"ok": True}
        if name == "clear_faults":
            self.clear_faults()
            return {"ok": True}
        if name == "clear_journal":
            self.clear_journal()
            return {"ok": True}
        if name == "script_replies":
            self.script_replies(data["replies"])
            return {"ok": True}
        if name == "add_org":
            return {"org_id": self.add_org(data.get("org_id"))}
        if name == "add_token":
            return {"token": self.add_token(
                org_id=data.get("org_id"), permissions=data.get("permissions", ALL_PERMISSIONS),
                enterprise=bool(data.get("enterprise", False)), token=data.get("token"),
                user=data.get("user"))}
        if name == "allowed_tags":
            if data.get("tags") is None:
                self.allowed_tags.pop(data["org_id"], None)
            else:
                self.allowed_tags[data["org_id"]] = frozenset(data["tags"])
            return {"ok": True}
        if name == "seed_sessions":
            d = dict(data)
            return {"session_ids": self.seed_sessions(d.pop("org_id", None), int(d.pop("n")), **d)}
        raise KeyError(name)
