"""What every script shares: common options, payload assembly, the one error boundary, text output."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Callable

from . import config, output
from .errors import DevinError, InvalidInput, PolicyError
from .fieldnames import is_forbidden

STDIN_MAX = 4 * 2**20


class Parser(argparse.ArgumentParser):
    """argparse that raises our InvalidInput instead of printing usage and exiting on its own."""

    def error(self, message):
        for word in sys.argv[1:]:
            name = word.lstrip("-").split("=", 1)[0]
            if name and is_forbidden(name):
                raise PolicyError(f"option {name!r} names a forbidden field; impersonation and inline secrets "
                                  "are never sent. Nothing was sent.")
        raise InvalidInput(f"{message} (see {self.prog} --help)")


def parser(prog: str, description: str) -> Parser:
    p = Parser(prog=prog, description=description)
    p.add_argument("--json", action="store_true", help="print one JSON document on standard output")
    p.add_argument("--dry-run", action="store_true", help="show the request that would be sent; send nothing")
    return p


def add_session_arg(p: Parser) -> None:
    p.add_argument("session", metavar="SESSION",
                   help="devin-<32 hex>, the bare 32 hex, or a https://app.devin.ai/sessions/<32 hex> URL")


# -- inputs ------------------------------------------------------------------------------------

class Stdin:
    """Standard input may be read once per call (one '-' file)."""
    used = False

    @classmethod
    def read(cls, what: str) -> str:
        if cls.used:
            raise InvalidInput(f"{what}: standard input ('-') can be used for one input only")
        cls.used = True
        data = sys.stdin.buffer.read(STDIN_MAX + 1)
        if len(data) > STDIN_MAX:
            raise InvalidInput(f"{what}: standard input is larger than {STDIN_MAX} bytes")
        return _decode(data, what)


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not valid UTF-8") from None


def read_text(path: str, what: str, max_bytes: int = STDIN_MAX) -> str:
    if path == "-":
        return Stdin.read(what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"{what}: cannot read {path!r} ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise InvalidInput(f"{what}: {path!r} is larger than {max_bytes} bytes")
    return _decode(data, what)


def strict_json(text: str, what: str):
    from .http_json import loads_strict
    try:
        return loads_strict(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} is not valid JSON ({exc})") from None


def free_text(value: str | None, path: str | None, what: str) -> str | None:
    if value is not None and path is not None:
        raise InvalidInput(f"give the {what} either inline or from a file, not both")
    text = read_text(path, f"--{what}-file") if path is not None else value
    if text is not None and not text.strip():
        raise InvalidInput(f"the {what} is empty")
    return text


def build_payload(args, options: dict) -> dict:
    """--payload-file, then --field, then the named options on top; the policy decides the rest."""
    payload: dict = {}
    if getattr(args, "payload_file", None):
        doc = strict_json(read_text(args.payload_file, "--payload-file"), "--payload-file")
        if not isinstance(doc, dict):
            raise InvalidInput("--payload-file must hold a JSON object of fields")
        payload.update(doc)
    seen = set()
    for item in getattr(args, "field", None) or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput("--field takes KEY=JSON (a bare word is taken as a string)")
        if key in seen:
            raise InvalidInput(f"--field {key} is given twice")
        seen.add(key)
        try:
            value = strict_json(raw, f"--field {key}")
        except InvalidInput:
            value = raw
        payload[key] = value
    for key, value in options.items():
        if value is not None:
            payload[key] = value
    return payload


# -- the boundary ------------------------------------------------------------------------------

def run(main: Callable[[argparse.Namespace, bool], int], build: Callable[[], Parser]) -> int:
    json_mode = "--json" in sys.argv[1:]
    try:
        args = build().parse_args()
        return main(args, json_mode) or 0
    except DevinError as err:
        output.emit_error(err, json_mode)
        return err.exit_code
    except KeyboardInterrupt:
        output.note("devin: interrupted")
        return 130
    except Exception as exc:  # a bug: report its type only, never a traceback with locals
        if os.environ.get("DEVIN_PLUGIN_DEBUG") == "1":
            import traceback
            output.note(traceback.format_exc())
        err = DevinError(f"internal error ({type(exc).__name__}); rerun with DEVIN_PLUGIN_DEBUG=1 for details")
        output.emit_error(err, json_mode)
        return err.exit_code


def settings(args):
    return config.load(need_token=not getattr(args, "dry_run", False))


def client(settings_, deadline_s: float = 60.0):
    from .http import Client
    return Client(settings_, deadline_s=deadline_s)


def session_id(args, settings_) -> str:
    from .ids import normalize_session_id
    return normalize_session_id(args.session, settings_.base.app_hosts())


def load_policy(settings_):
    from . import policy
    return policy.load(settings_.config_dir)


# -- text output -------------------------------------------------------------------------------

CLASS_WORDS = {
    "starting": "starting up",
    "working": "working",
    "needs_user": "waiting for you: read its messages and answer with a message",
    "done_for_now": "done for now: Devin finished its turn; send a message to continue, or archive it",
    "asleep": "asleep (suspended): a message wakes it",
    "ended": "ended",
    "unknown": "in an unknown state",
}


def when(ts) -> str:
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return "?"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def session_lines(s: dict) -> list[str]:
    s = output.clean(s)  # credential query parameters cut from URLs in text mode too (audit H3)
    lines = [f"session: {s.get('session_id')}", f"title: {s.get('title') or '(none)'}",
             "status: " + str(s.get("status")) + (f" ({s.get('status_detail')})" if s.get("status_detail") else "")]
    lines.append(f"url: {s.get('url')}")
    lines.append(f"created: {when(s.get('created_at'))}; updated: {when(s.get('updated_at'))}; "
                 f"ACUs used: {s.get('acus_consumed', '?')}")
    if s.get("tags"):
        lines.append("tags: " + ", ".join(map(str, s["tags"])))
    for pr in s.get("pull_requests") or []:
        if isinstance(pr, dict):
            lines.append(f"pull request: {pr.get('pr_url')}" + (f" ({pr['pr_state']})" if pr.get("pr_state") else ""))
    if s.get("is_archived"):
        lines.append("archived: yes")
    if s.get("structured_output") is not None:
        lines.append("structured output: " + json.dumps(s["structured_output"], ensure_ascii=False)[:2000])
    return lines


def show_session(s: dict, headline: str) -> str:
    from .sessions import status_class
    cls = status_class(s)
    return f"{headline}\nstate: {CLASS_WORDS.get(cls, cls)}\n" + output.fence("\n".join(session_lines(s)))


def emit(doc, json_mode: bool, text: Callable[[], str]) -> None:
    if json_mode:
        output.emit_json(doc)
    else:
        output.emit_text(text())


def emit_dry_run(doc, json_mode: bool) -> int:
    if json_mode:
        output.emit_json(doc)
    else:
        req = doc["request"]
        lines = ["dry run: nothing was sent. The request would be:", f"  {req['method']} {req['url']}"]
        for k, v in req.get("headers", {}).items():
            lines.append(f"  {k}: {v}")
        if req.get("params"):
            lines.append("  query: " + json.dumps(req["params"], ensure_ascii=False))
        if "body" in req:
            lines.append("  body: " + json.dumps(req["body"], ensure_ascii=False, indent=2).replace("\n", "\n  "))
        if req.get("file"):
            lines.append("  file: " + json.dumps(req["file"], ensure_ascii=False))
        if doc.get("dedup"):
            lines.append(f"  (first, an active session titled {doc['dedup']['title']!r} from the last "
                         f"{doc['dedup']['window_days']:g} days would be looked for and returned instead)")
        output.emit_text("\n".join(lines))
    return 0


def verb_parser(prog: str, description: str):
    """A parser with subcommands; --json and --dry-run go after the verb."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on standard output")
    common.add_argument("--dry-run", action="store_true", help="show the request that would be sent; send nothing")
    p = Parser(prog=prog, description=description,
               epilog="Every verb takes --json (one JSON document on standard output) and --dry-run (show the "
                      "request that would be sent; send nothing), after the verb.")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=Parser)
    return p, sub, common


def show_items(title: str, items, fields) -> str:
    if not items:
        return f"No {title} found."
    items = output.clean(items)
    rows = ["  ".join("-" if it.get(f) is None else str(it.get(f)) for f in fields)
            for it in items if isinstance(it, dict)]
    return f"{len(items)} {title}:\n" + output.fence("\n".join(rows))


def show_object(headline: str, obj) -> str:
    lines = []
    for key, value in output.clean(obj or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        lines.append(f"{key}: {text}")
    return headline + "\n" + output.fence("\n".join(lines))


def check_id(value: str, what: str) -> str:
    from .ids import check_resource_id
    return check_resource_id(value, what)


def dry_run_request(client, json_mode: bool, method: str, template: str, **kw) -> int:
    """--dry-run of a single request: build it (all checks apply), print it, send nothing."""
    return emit_dry_run({"dry_run": True, "request": client.build(method, template, **kw).describe()}, json_mode)
