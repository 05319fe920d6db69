"""The one guarded way out to the Devin API. The only module that imports requests.

Why each guard exists:
- the session ignores the environment (trust_env=False): ~/.netrc would silently replace our
  Authorization header, and proxy or CA-bundle variables would allow a man in the middle;
- redirects are never followed: requests keeps custom headers and re-sends POST bodies on 307;
- path parameters are matched against an allowlist before encoding, and the prepared URL is
  checked again, because requests and urllib3 decode %2e and drop dot segments;
- bodies are streamed with a cap on decoded bytes (gzip bombs) and a total deadline checked
  between reads (slow drips defeat per-read timeouts);
- a POST that creates something is retried only when it provably never reached the server, or
  after a 429, because Devin's create has no idempotency key;
- errors are rebuilt from our own words: requests' messages carry URLs and sometimes headers.
"""

from __future__ import annotations

import email.utils
import json
import math
import random
import time
from collections.abc import Callable
from typing import Any, NoReturn, Protocol
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from . import __version__, audit, ids, routes
from .request import Request
from .http_json import loads_strict
from .config import Settings
from .errors import (ApiError, AuthError, ConfigError, DevinError, InvalidInput, NetworkError,
                     NotFound, RateLimited, UnknownOutcome)

USER_AGENT = f"devin-plugin/{__version__}"
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
JSON_TYPES = ("application/json", "application/problem+json")
# Request bodies: UTF-8 as written (no \u escapes), and NaN/Infinity refused rather than sent as non-JSON.
_BODY_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)

PERMISSIONS = routes.PERMISSIONS  # kept here for callers that look it up on the helper


class Response:
    """An answer: status, parsed JSON, how many attempts it took, headers."""

    __slots__ = ("status", "data", "attempts", "headers")

    def __init__(self, status: int, data: Any, attempts: int, headers: dict | None = None):
        self.status, self.data, self.attempts, self.headers = status, data, attempts, dict(headers or {})


class Transport(Protocol):
    """The seam between the Client and the network, shaped like requests' HTTPAdapter.send: tests
    can hand the Client an object that answers in process (the way httpx's MockTransport works);
    every guard above the transport (URL checks, retries, caps, redaction, audit) still applies."""

    def send(self, request: requests.PreparedRequest, stream: bool = ..., timeout: Any = ...,
             verify: bool = ..., cert: Any = ..., proxies: Any = ...) -> requests.Response: ...

    def close(self) -> None: ...


class _BearerAuth(requests.auth.AuthBase):
    """Token attached by an auth object, so no .netrc lookup can replace it."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer " + self._token
        return r

    def __repr__(self) -> str:
        return "<BearerAuth ***>"


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys (they invite parser differentials)."""
    try:
        return loads_strict(raw.decode())  # UTF-8, strict: bytes.decode's defaults
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(f"the API answered with malformed JSON ({type(exc).__name__})") from None


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait, from retry-after-ms, Retry-After seconds or an HTTP date; None if absent or junk."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            val = float(ms) / 1000.0
            return val if val >= 0 and math.isfinite(val) else None
        except ValueError:
            pass
    ra = headers.get("Retry-After")
    if not ra:
        return None
    ra = ra.strip()
    try:
        val = float(ra)
        return val if val >= 0 and math.isfinite(val) else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(ra)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """0.5 s doubling per attempt, capped at 8 s, minus up to 25 % jitter."""
    return min(0.5 * 2 ** (attempt - 1), 8.0) * (1 - 0.25 * rand())


def _never_sent(exc: BaseException) -> bool:
    """True only when the connection itself failed, so the server cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen = set()
    stack = [exc]
    while stack:
        cur = stack.pop()
        if cur is None or id(cur) in seen:
            continue
        seen.add(id(cur))
        if isinstance(cur, (NewConnectionError, ConnectTimeoutError)):
            return True
        # urllib3 sometimes keeps a plain string in .reason: follow exceptions only.
        stack.extend(x for x in (getattr(cur, "reason", None), cur.__cause__, cur.__context__)
                     if isinstance(x, BaseException))
        stack.extend(a for a in cur.args if isinstance(a, BaseException))
    return False


def _short(text: str, limit: int = 300) -> str:
    from .output import safe  # only needed on error paths
    text = " ".join(safe(str(text)).split())  # API text in an error: one line, never a fence look-alike
    return text if len(text) <= limit else text[:limit] + "..."


def _field_errors(items: Any) -> str:
    """`errors` of an RFC 9457 body (current 422s) or a legacy FastAPI `detail` list: 'field: message'."""
    parts = []
    if isinstance(items, dict):
        items = [{"loc": [k], "msg": v} for k, v in items.items()]
    for item in (items if isinstance(items, list) else [])[:5]:
        if isinstance(item, dict):
            where = item.get("loc") or item.get("field") or item.get("pointer") or item.get("path") or []
            if isinstance(where, str):
                where = [w for w in where.replace("/", ".").split(".") if w]
            loc = ".".join(str(x) for x in where if x not in ("body", "#")) if isinstance(where, list) else ""
            msg = item.get("msg") or item.get("message") or item.get("detail") or ""
            parts.append(f"{loc}: {msg}" if loc else str(msg))
    return "; ".join(p for p in parts if p)


def _header(headers: Any, name: str) -> str | None:
    """A header by its lower-case name, compared by hand rather than through a case-insensitive
    lookup, so that the spelling of `name` is something a test can pin."""
    return next((v for k, v in headers.items() if k.lower() == name), None)


def problem_detail(data: Any) -> str:
    """A short, redacted summary of an RFC 9457 body (with its field `errors`), a legacy {detail},
    or a legacy 422 {detail: [{loc, msg, type}]}."""
    if not isinstance(data, dict):
        return ""
    detail = data.get("detail")
    if isinstance(detail, list):
        detail = _field_errors(detail)
    title = data.get("title")
    fields = _field_errors(data.get("errors"))  # "" for none
    text = " - ".join(str(x) for x in (title, detail, fields) if x)
    return _short(text)


class Client:
    """Sends checked requests to the configured Devin API within one total deadline."""

    def __init__(self, settings: Settings, *, deadline_s: float = 60.0, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, max_attempts: int = 3, max_bytes: int = 8 * 2**20,
                 sleep: Callable[[float], None] = time.sleep, monotonic: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random, transport: Transport | None = None):
        self.settings = settings
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max(1, max_attempts)
        self.max_bytes = max_bytes
        self.sleep = sleep
        self.monotonic = monotonic
        self.rand = rand
        self.deadline = monotonic() + deadline_s
        self._session: requests.Session | None = None
        self._adapter: Transport | None = transport
        self._audit_ready = False
        self.sent = 0

    # -- building -------------------------------------------------------------------------------
    def build(self, method: str, template: str, *, path: dict | None = None, params: dict | None = None,
              body: Any = None, files: Any = None, action: str = "", version: str | None = None,
              safe_to_repeat: bool | None = None) -> Request:
        method = method.upper()
        # The org id is checked where a path carries it: GET /self has none (check_setup calls it without one).
        values = {"org_id": self.settings.org_id} if "{org_id}" in template else {}
        values.update(path or {})
        encoded: dict[str, str] = {}
        for name, value in values.items():
            if name == "devin_id":
                if not isinstance(value, str) or not ids.SESSION_ID.fullmatch(value):
                    raise InvalidInput("internal: session id was not normalised before use")
            elif name == "file_name":
                if not isinstance(value, str) or not ids.FILE_NAME.fullmatch(value) or ".." in value:
                    raise InvalidInput(f"invalid file name {str(value)[:40]!r}")
            elif not isinstance(value, str) or not ids.RESOURCE_ID.fullmatch(value):
                raise InvalidInput(f"invalid {name} {str(value)[:40]!r}")
            encoded[name] = quote(value)  # the patterns above allow no '/', the one character quote() keeps
        try:
            rel = template.format(**encoded)
        except (KeyError, IndexError):
            raise InvalidInput(f"internal: missing path parameter for {template}") from None
        version = version or self.settings.api_version
        path_str = f"/{version}{rel}"
        for key, value in (params or {}).items():
            vals = value if isinstance(value, (list, tuple)) else [value]
            for v in vals:
                if not isinstance(v, (str, int)) or isinstance(v, bool) or len(str(v)) > 2048:
                    raise InvalidInput(f"invalid value for query parameter {key}")
        mutating = method != "GET"
        if safe_to_repeat is None:
            safe_to_repeat = method in ("GET", "PUT", "DELETE")
        return Request(method, template, self.settings.base_url + path_str, path_str,
                       dict(params or {}), body, files, values.get("devin_id"), action, mutating,
                       safe_to_repeat, dict(path or {}), version)

    def derive(self, req: Request, *, params: dict) -> Request:
        """The same request with some query parameters replaced (the next page of a list)."""
        return self.build(req.method, req.template, path=req.path_values, params={**req.params, **params},
                          body=req.body, files=req.files, action=req.action, version=req.version,
                          safe_to_repeat=req.safe_to_repeat)

    # -- sending --------------------------------------------------------------------------------
    def _http(self) -> requests.Session:
        if self._session is None:
            s = requests.Session()
            s.trust_env = False
            s.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
            self._session = s
            # Sent through the adapter, not Session.send: even with allow_redirects=False the session
            # reads a redirect's whole body to prepare the next hop, and keeps cookies.
            if self._adapter is None:
                self._adapter = HTTPAdapter(max_retries=0)
        return self._session

    def ready_to_write(self) -> None:
        """A mutating operation calls this before its first request (reads included): the state
        directory that records it must be writable, or it is a configuration error and nothing is sent."""
        if not self._audit_ready:
            audit.check_writable(self.settings.state_dir)
            self._audit_ready = True

    def remaining(self) -> float:
        return self.deadline - self.monotonic()

    def call(self, method: str, template: str, **kw: Any) -> Response:
        return self.send(self.build(method, template, **kw))

    def send(self, req: Request) -> Response:
        if not self.settings.token:
            raise ConfigError("no Devin token configured")
        if req.mutating:
            self.ready_to_write()
        try:
            resp = self._send_with_retries(req)
        except DevinError as err:
            if req.mutating:
                audit.record(self.settings, req, err.http_status, err.kind)
            raise
        if req.mutating:
            made = resp.data.get("session_id") if isinstance(resp.data, dict) and not req.session_id else None
            audit.record(self.settings, req, resp.status, "ok", attempts=resp.attempts,
                         session_id=made if isinstance(made, str) and ids.SESSION_ID.fullmatch(made) else None)
        return resp

    def _prepare(self, req: Request) -> requests.PreparedRequest:
        assert self.settings.token is not None  # send() refuses to go on without one
        kwargs: dict[str, Any] = {"params": req.params, "auth": _BearerAuth(self.settings.token)}
        if req.body is not None:
            try:
                kwargs["data"] = _BODY_JSON.encode(req.body).encode()
            except ValueError:  # NaN or Infinity: not JSON, and never sent
                raise InvalidInput("the request could not be prepared (NaN or Infinity in the body)") from None
            kwargs["headers"] = {"Content-Type": "application/json"}
        if req.files is not None:
            name, fh, _size, ctype = req.files
            kwargs["files"] = {"file": (name, fh, ctype)}
        try:
            prepared = self._http().prepare_request(requests.Request(req.method, req.url, **kwargs))
        except (ValueError, requests.exceptions.RequestException):
            raise InvalidInput("the request could not be prepared (invalid characters?)") from None
        # requests may re-quote the URL; make sure it still points where we built it to.
        got = urlsplit(prepared.url)
        want = urlsplit(req.url)
        if (got.scheme, got.netloc, got.path) != (want.scheme, want.netloc, want.path) or got.fragment:
            raise InvalidInput("internal: the prepared URL differs from the checked one; not sent")
        return prepared

    def _send_with_retries(self, req: Request) -> Response:
        attempt = 0
        last_error: DevinError | None = None
        while True:
            attempt += 1
            remaining = self.remaining()
            if remaining <= 0:
                raise last_error or NetworkError("the call's deadline passed before the request could be sent")
            if req.files is not None and attempt > 1:
                req.files[1].seek(0)
            prepared = self._prepare(req)
            read_timeout = max(0.05, min(self.read_timeout, remaining))
            connect_timeout = max(0.05, min(self.connect_timeout, remaining))
            try:
                self.sent += 1
                assert self._adapter is not None  # set by _prepare -> _http
                raw = self._adapter.send(prepared, stream=True, verify=True, proxies={}, cert=None,
                                         timeout=(connect_timeout, read_timeout))
            except requests.exceptions.RequestException as exc:
                err = self._transport_error(req, exc)
                retry_ok = isinstance(err, NetworkError) and (req.safe_to_repeat or _never_sent(exc))
                if retry_ok and attempt < self.max_attempts:
                    if self._pause(backoff_delay(attempt, self.rand)):
                        last_error = err
                        continue
                raise err from None  # our own words: requests' message can carry the URL
            try:
                status = raw.status_code
                if status in RETRYABLE_STATUS:
                    retry_after = parse_retry_after(raw.headers)
                    err = self._status_error(req, raw)
                    can_repeat = status == 429 or req.safe_to_repeat
                    if can_repeat and attempt < self.max_attempts:
                        delay = backoff_delay(attempt, self.rand)
                        if retry_after is not None:
                            if retry_after > MAX_RETRY_AFTER_S:
                                raise err
                            delay = max(delay, retry_after)
                        if self._pause(delay):
                            last_error = err
                            continue
                    raise err
                if 300 <= status < 400:
                    raise ApiError(f"the API answered {status} with a redirect; redirects are never followed "
                                   "(the token must not travel elsewhere)", http_status=status)
                if status >= 400 or status < 200:
                    raise self._status_error(req, raw)
                try:
                    data = self._read_json(raw, req)
                except ApiError as err:
                    if req.mutating and not req.safe_to_repeat:
                        # The server said yes but its answer is unreadable: the create or message happened.
                        raise UnknownOutcome(f"{req.method} {req.template} was accepted ({status}) but "
                                             f"{err.message}; it has probably taken effect",
                                             http_status=status) from None
                    raise
                return Response(status, data, attempt, dict(raw.headers))
            finally:
                raw.close()

    def download(self, req: Request, sink: Callable[[bytes], object], *, max_bytes: int) -> int:
        """GET a file: the API answers with one redirect to a presigned URL on another host. Follow
        exactly that one hop, https only (plain http only to loopback when the API itself is a local
        emulator), without the Authorization header or any cookie, with the size cap and the deadline;
        hand the bytes to `sink`. Returns the number of bytes."""
        if not self.settings.token:
            raise ConfigError("no Devin token configured")
        if self.remaining() <= 0:  # as _send_with_retries: past the deadline, nothing is sent
            raise NetworkError("the call's deadline passed before the download could start; nothing was sent")
        prepared = self._prepare(req)
        assert self._adapter is not None
        timeout = (max(0.05, min(self.connect_timeout, self.remaining())),
                   max(0.05, min(self.read_timeout, self.remaining())))
        try:
            raw = self._adapter.send(prepared, stream=True, verify=True, proxies={}, cert=None, timeout=timeout)
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(req, exc) from None
        try:
            if raw.status_code in (301, 302, 303, 307, 308):
                target = self._download_target(_header(raw.headers, "location"))
            elif 200 <= raw.status_code < 300:
                return self._stream(raw, req, sink, max_bytes, "the file")
            else:
                raise self._status_error(req, raw)
        finally:
            raw.close()
        try:
            bare = requests.Request("GET", target, headers={"User-Agent": USER_AGENT}).prepare()
        except (ValueError, requests.exceptions.RequestException):  # a port past 65535, a bad IDNA label, ...
            raise ApiError("the API redirected the download to a location that is not a plain https URL; "
                           "not followed") from None
        # Never: built from scratch. Exactly the one header set here, compared as spelt (a case-insensitive
        # lookup would hide a misspelling), so anything requests added (an Authorization from user
        # information in the URL, say) refuses the request.
        if list(bare.headers) != ["User-Agent"]:
            raise InvalidInput("internal: the download request carries credentials; not sent")
        try:
            raw = self._adapter.send(bare, stream=True, verify=True, proxies={}, cert=None, timeout=timeout)
        except requests.exceptions.RequestException as exc:
            raise NetworkError(f"the file download failed ({type(exc).__name__}); the presigned link may "
                               "have expired: list the attachments again") from None
        try:
            if not 200 <= raw.status_code < 300:
                raise ApiError(f"the file host answered {raw.status_code} (redirects are not followed twice)",
                               http_status=raw.status_code)
            return self._stream(raw, req, sink, max_bytes, "the file")
        finally:
            raw.close()

    def _download_target(self, location: str | None) -> str:
        if not location:
            raise ApiError("the API redirected the download without a location; not followed")
        parts = urlsplit(location)
        from .config import _is_loopback
        host = (parts.hostname or "").lower()
        local_ok = self.settings.base.loopback and parts.scheme == "http" and _is_loopback(host)
        if (parts.scheme != "https" and not local_ok) or not host or parts.username or parts.password:
            raise ApiError("the API redirected the download to a location that is not a plain https URL; "
                           "not followed")
        return location

    def _pause(self, delay: float) -> bool:
        """Sleep before a retry if the deadline allows it."""
        if delay >= self.remaining() - 0.05:
            return False
        self.sleep(delay)
        return True

    def _transport_error(self, req: Request, exc: BaseException) -> DevinError:
        where = f"{req.method} {req.template}"
        if _never_sent(exc):
            return NetworkError(f"could not connect to the Devin API ({where}); nothing was sent")
        if isinstance(exc, requests.exceptions.SSLError):
            return NetworkError(f"TLS verification failed for the Devin API ({where})")
        what = "timed out waiting for the answer" if isinstance(exc, requests.exceptions.Timeout) \
            else "lost the connection before the answer arrived"
        if req.safe_to_repeat:
            return NetworkError(f"{where}: {what}")
        return UnknownOutcome(f"{where}: {what}; the request may or may not have taken effect")

    def _read_body(self, raw: requests.Response, req: Request, limit: int) -> bytes:
        buf = bytearray()
        self._stream(raw, req, buf.extend, limit, "the API's answer")
        return bytes(buf)

    def _stream(self, raw: requests.Response, req: Request, sink: Callable[[bytes], object], limit: int,
                what: str) -> int:
        """Hand a body to `sink` chunk by chunk: at most `limit` decoded bytes (gzip bombs), within the
        call's deadline (read1 returns what has arrived, so a dripping server cannot hold one read past it)."""
        declared = raw.headers.get("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > limit:
            raise ApiError(f"{what} is too large ({int(declared)} bytes; limit {limit})", http_status=raw.status_code)
        total = 0
        reader = getattr(raw.raw, "read1", None)
        try:
            while True:
                if self.remaining() <= 0:
                    self._deadline_error(req, raw.status_code)
                chunk = reader(65536, decode_content=True) if reader else raw.raw.read(65536, decode_content=True)
                if not chunk:
                    return total
                total += len(chunk)
                if total > limit:
                    raise ApiError(f"{what} exceeded {limit} bytes and was cut off", http_status=raw.status_code)
                sink(chunk)
        except DevinError:
            raise
        except Exception as exc:  # urllib3 read, decode and protocol errors
            if isinstance(exc, (requests.exceptions.Timeout,)) or "timed out" in str(exc).lower():
                self._deadline_error(req, raw.status_code)
            raise ApiError(f"{what} could not be read ({type(exc).__name__})", http_status=raw.status_code) from None

    def _deadline_error(self, req: Request, status: int) -> NoReturn:
        if req.mutating and not req.safe_to_repeat and 200 <= status < 300:
            raise UnknownOutcome(f"{req.method} {req.template}: the answer did not arrive in time; "
                                 "the request may have taken effect", http_status=status)
        raise ApiError(f"{req.method} {req.template}: the answer did not arrive within the call's deadline",
                       http_status=status)

    def _read_json(self, raw: requests.Response, req: Request) -> Any:
        ctype = (raw.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = self._read_body(raw, req, self.max_bytes)
        if not body and raw.status_code == 204:
            return None
        if ctype not in JSON_TYPES:
            raise ApiError(f"the API answered with content type {_short(ctype, 60) or 'none'}, not JSON",
                           http_status=raw.status_code)
        return parse_json(body)

    def _status_error(self, req: Request, raw: requests.Response) -> DevinError:
        status = raw.status_code
        detail = ""
        try:
            ctype = (raw.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype in JSON_TYPES:
                detail = problem_detail(parse_json(self._read_body(raw, req, 65536)))
        except DevinError:
            detail = ""
        suffix = f": {detail}" if detail else ""
        where = f"{req.method} {req.template}"
        if status == 401:
            return AuthError(f"the Devin API refused the token (401){suffix}. The token may be revoked, expired "
                             "or for another deployment; create a new service-user token.", http_status=401)
        if status == 403:
            perm = routes.permission(req.method, req.template)
            return AuthError(f"permission refused (403) for {where}; this call needs {perm}, in the "
                             f"organization {self.settings.org_id}{suffix}", http_status=403)
        if status == 404:
            return NotFound(f"not found (404) in organization {self.settings.org_id}: {where}{suffix}",
                            http_status=404)
        if status == 429:
            ra = parse_retry_after(raw.headers)
            when = f"retry after {ra:.0f} s" if ra is not None else "retry in a minute"
            return RateLimited(f"rate limited (429) on {where}; {when}{suffix}", http_status=429, retry_after=ra)
        if status >= 500:
            if req.mutating and not req.safe_to_repeat:
                return UnknownOutcome(f"{where} failed with {status}; the request may or may not have taken "
                                      f"effect{suffix}", http_status=status)
            return ApiError(f"the Devin API failed with {status} on {where}{suffix}", http_status=status)
        return ApiError(f"the Devin API rejected {where} with {status}{suffix}", http_status=status)
