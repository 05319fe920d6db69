"""What every script shares: the options declared once, input reading, the one error boundary.

A script is `build()` (its parser, from the shared option declarations here) and `main(inv)` (parse
result in, one library call, one print). `run()` is the boundary: it takes argv, the environment and
the standard streams as arguments, so a script runs the same way in a process or in a test.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any, NoReturn, TextIO

from . import formatting, limits, output
from .context import Context
from .errors import DevinError, InvalidInput, PolicyError

STDIN_MAX = 4 * 2**20


class Parser(argparse.ArgumentParser):
    """argparse that raises our InvalidInput instead of printing usage and exiting on its own."""

    argv: list[str] = []

    def error(self, message: str) -> NoReturn:
        from .fieldnames import is_forbidden  # loads the forbidden list: only on this error path
        for word in self.argv:
            name = word.lstrip("-").split("=", 1)[0]
            if name and is_forbidden(name):
                raise PolicyError(f"option {name!r} names a forbidden field; impersonation and inline secrets "
                                  "are never sent. Nothing was sent.")
        raise InvalidInput(f"{message} (see {self.prog} --help)")


# -- the shared option declarations ------------------------------------------------------------

def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON document on standard output")
    p.add_argument("--dry-run", action="store_true", help="show the request that would be sent; send nothing")


def parser(prog: str, description: str | None) -> Parser:
    p = Parser(prog=prog, description=description)
    _add_common(p)
    return p


def verb_parser(prog: str, description: str | None) -> tuple[Parser, Any, argparse.ArgumentParser]:
    """A parser with subcommands; --json and --dry-run go after the verb."""
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common)
    p = Parser(prog=prog, description=description,
               epilog="Every verb takes --json (one JSON document on standard output) and --dry-run (show the "
                      "request that would be sent; send nothing), after the verb.")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=Parser)
    return p, sub, common


def add_session_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("session", metavar="SESSION",
                   help="devin-<32 hex>, the bare 32 hex, a https://app.devin.ai/sessions/<32 hex> URL, or last "
                        "(the newest session created on this machine)")


def add_free_text(p: argparse.ArgumentParser, what: str, help_what: str) -> None:
    """--WHAT-file PATH ('-' for standard input) and --WHAT TEXT: free text never needs a shell word."""
    p.add_argument(f"--{what}-file", metavar="PATH", help=f"the {help_what}, from a file or '-' for standard input")
    p.add_argument(f"--{what}", metavar="TEXT", help=f"the {help_what} as one argument (prefer --{what}-file -)")


def add_payload_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--attachment-url", action="append", metavar="URL", help="from upload_attachment.py (repeatable)")
    p.add_argument("--field", action="append", metavar="KEY=JSON", help="any other allowed field (repeatable)")
    p.add_argument("--payload-file", metavar="FILE", help="JSON object of fields, merged under the options")


def add_limit(p: argparse.ArgumentParser, default: int | None, cap: int, what: str) -> None:
    shown = f"1-{cap}" + (f", default {default}" if default is not None else "")
    p.add_argument("--limit", type=int, default=default, metavar="N", help=f"how many {what} ({shown})")


def check_limit(value: int | None, cap: int, option: str = "--limit") -> None:
    if value is not None and not 1 <= value <= cap:
        raise InvalidInput(f"{option} must be between 1 and {cap}")


# -- one invocation ----------------------------------------------------------------------------

class Invocation(Context):
    """A script's call: its parsed options, its streams and its environment."""

    def __init__(self, args: argparse.Namespace, *, json_mode: bool, stdin: IO[bytes],
                 env: Mapping[str, str], cwd: str | None = None, transport: Any = None):
        super().__init__(env, dry_run=bool(getattr(args, "dry_run", False)), cwd=cwd, transport=transport,
                         note=lambda m: output.note("devin: " + m))
        self.args = args
        self.json = json_mode
        self._stdin = stdin
        self._stdin_used = False
        # Which option set each payload field (errors name it: the user typed --max-acu, not max_acu_limit).
        self.field_origins: dict[str, str] = {}
        self._free_text_used: dict[str, str] = {}

    # inputs
    def read_stdin(self, what: str) -> str:
        """Standard input may be read once per call (one '-' file)."""
        if self._stdin_used:
            raise InvalidInput(f"{what}: standard input ('-') can be used for one input only")
        self._stdin_used = True
        data = self._stdin.read(STDIN_MAX + 1)
        if len(data) > STDIN_MAX:
            raise InvalidInput(f"{what}: standard input is larger than {STDIN_MAX} bytes")
        return _decode(data, what)

    def read_text(self, path: str, what: str, max_bytes: int = STDIN_MAX) -> str:
        if path == "-":
            return self.read_stdin(what)
        from . import localfiles
        real = localfiles.check(path, cwd=self.cwd, env=self.env, what=what, allow_outside_cwd=True)
        try:
            fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as fh:
                localfiles.opened_as_checked(fh.fileno(), real, what, path)
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                    raise InvalidInput(f"{what}: {path!r} is not a regular file")
                data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InvalidInput(f"{what}: cannot read {path!r} ({exc.strerror})") from None
        if len(data) > max_bytes:
            raise InvalidInput(f"{what}: {path!r} is larger than {max_bytes} bytes")
        return _decode(data, what)

    def free_text(self, what: str) -> str | None:
        """The value of --WHAT or --WHAT-file (declared by add_free_text)."""
        attr = what.replace("-", "_")
        value, path = getattr(self.args, attr, None), getattr(self.args, attr + "_file", None)
        if value is not None and path is not None:
            raise InvalidInput(f"give the {what} either inline or from a file, not both")
        text = self.read_text(path, f"--{what}-file") if path is not None else value
        self._free_text_used[attr] = f"--{what}-file" if path is not None else f"--{what}"
        if text is not None and not text.strip():
            raise InvalidInput(f"the {what} is empty")
        return text

    def json_file(self, path: str, what: str) -> Any:
        return strict_json(self.read_text(path, what), what)

    def payload(self, options: dict) -> dict:
        """--payload-file, then --field, then the named options on top; the policy decides the rest."""
        payload: dict = {}
        if getattr(self.args, "payload_file", None):
            doc = self.json_file(self.args.payload_file, "--payload-file")
            if not isinstance(doc, dict):
                raise InvalidInput("--payload-file must hold a JSON object of fields")
            payload.update(doc)
            self.field_origins.update(dict.fromkeys(map(str, doc), "--payload-file"))
        fields = parse_fields(getattr(self.args, "field", None) or [])
        payload.update(fields)
        self.field_origins.update(dict.fromkeys(fields, "--field"))
        named = {k: v for k, v in options.items() if v is not None}
        payload.update(named)
        self.field_origins.update({k: self._option_of(k) for k in named})
        return payload

    def _option_of(self, field: str) -> str:
        return self._free_text_used.get(field) or OPTION_OF_FIELD.get(field) or "--" + field.replace("_", "-")

    def session(self) -> str:
        """The SESSION argument, normalised (after the settings, so a config error comes first)."""
        self.settings()
        return self.session_id(self.args.session)

    # outputs
    def emit(self, doc: Any, text: Callable[[], str]) -> int:
        if self.json:
            output.emit_json(doc)
        else:
            output.emit_text(text())
        return 0

    def emit_dry_run(self, doc: dict) -> int:
        return self.emit(doc, lambda: formatting.show_dry_run(doc))

    def emit_result(self, doc: dict, text: Callable[[], str]) -> int:
        """A dry run's preview, or the result."""
        if doc.get("dry_run"):
            return self.emit_dry_run(doc)
        return self.emit(doc, text)


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not valid UTF-8") from None


def strict_json(text: str, what: str) -> Any:
    from .http_json import loads_strict
    try:
        return loads_strict(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} is not valid JSON ({exc})") from None


# The option that sets each payload field, where it is not --FIELD-NAME (the field's name with dashes).
OPTION_OF_FIELD = {"tags": "--tag", "repos": "--repo", "max_acu_limit": "--max-acu", "knowledge_ids": "--knowledge-id",
                   "secret_ids": "--secret-id", "attachment_urls": "--attachment-url"}
# "field max_acu_limit", "field 'bypass_approval'", "field tags/0": how policy.py names a field.
_FIELD_REF = re.compile(r"\bfield (['\"]?)([A-Za-z_][A-Za-z0-9_]{0,63})\1((?:/[0-9]+)*)")
_LEADING_FIELD = re.compile(r"^([a-z_]{1,64}) (?=is |must |has )")


def in_user_words(message: str, origins: dict[str, str]) -> str:
    """An error about payload fields, reworded to name what the user typed: `--max-acu` rather than
    max_acu_limit, `--tag (value 2)` rather than tags/1. A field given as --field KEY=... is named as
    typed already; one from --payload-file is said to come from it."""
    def named(text: str, name: str, index: str) -> str:
        origin = origins.get(name)
        if origin == "--payload-file":
            return text + " of --payload-file"
        if origin is None or origin == "--field":
            return text
        return origin + (f" (value {int(index.split('/')[1]) + 1})" if index else "")

    message = _FIELD_REF.sub(lambda m: named(m.group(0), m.group(2), m.group(3)), message)
    return _LEADING_FIELD.sub(lambda m: named(m.group(1), m.group(1), "") + " ", message)


def parse_fields(items: list[str]) -> dict:
    """--field KEY=JSON (a bare word is taken as a string), each key once."""
    out: dict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput("--field takes KEY=JSON (a bare word is taken as a string)")
        if key in out:
            raise InvalidInput(f"--field {key} is given twice")
        try:
            out[key] = strict_json(raw, f"--field {key}")
        except InvalidInput:
            out[key] = raw
    return out


# -- the boundary ------------------------------------------------------------------------------

Main = Callable[[Invocation], "int | None"]


def run(main: Main, build: Callable[[], Parser], argv: list[str] | None = None, *,
        env: Mapping[str, str] | None = None, stdin: IO[bytes] | None = None, stdout: TextIO | None = None,
        stderr: TextIO | None = None, cwd: str | None = None, transport: Any = None) -> int:
    """Parse argv, run main, map every error to the contract's exit code; never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    env = os.environ if env is None else env
    json_mode = "--json" in argv
    inv: Invocation | None = None
    with output.redirect(stdout or sys.stdout, stderr or sys.stderr):
        try:
            p = build()
            p.argv = argv
            args = p.parse_args(argv)
            inv = Invocation(args, json_mode=json_mode, stdin=stdin or _stdin_bytes(), env=env, cwd=cwd,
                             transport=transport)
            return main(inv) or 0
        except DevinError as err:
            if inv is not None and inv.field_origins and isinstance(err, (InvalidInput, PolicyError)):
                err.message = in_user_words(err.message, inv.field_origins)
            output.emit_error(err, json_mode)
            return err.exit_code
        except KeyboardInterrupt:
            output.note("devin: interrupted")
            return 130
        except Exception as exc:  # a bug: report its type only, never a traceback with locals
            if env.get("DEVIN_PLUGIN_DEBUG") == "1":
                import traceback
                output.note(traceback.format_exc())
            bug = DevinError(f"internal error ({type(exc).__name__}); rerun with DEVIN_PLUGIN_DEBUG=1 for details")
            output.emit_error(bug, json_mode)
            return bug.exit_code


def _stdin_bytes() -> IO[bytes]:
    return getattr(sys.stdin, "buffer", None) or io.BytesIO()


__all__ = ["Parser", "Invocation", "InvalidInput", "run", "parser", "verb_parser", "add_session_arg",
           "add_free_text", "add_payload_options", "add_limit", "check_limit", "strict_json", "parse_fields",
           "in_user_words", "limits", "formatting"]
