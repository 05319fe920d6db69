"""A loopback stand-in for the Anthropic Messages API, for driving the real `claude -p` offline.

`AnthropicStandin(turns)` listens on 127.0.0.1 (a fresh port per instance) and answers
`POST /v1/messages` in plain JSON or as an SSE stream (whichever the request asks for), and
`POST /v1/messages/count_tokens`. Every request body is recorded in `.requests`.

A test scripts the model turn by turn: the answer to a main-loop request is picked by how many
assistant turns the request already holds (0 = the first answer, 1 = the answer after the first
tool result, ...). A turn is

* a `str`: a text answer that ends the turn;
* `bash(command)` (or `tool(name, input)`): one tool_use block, stop_reason `tool_use`;
* a callable `f(request_body) -> turn`, to decide from what the client sent.

Past the end of the script the stand-in answers with an echo: the text `STANDIN-ECHO` followed by
the JSON of the tool_result blocks that came back in the last user message, so the client's
`result` field shows what the tools returned. Side requests the client makes without tools (e.g.
a title or a summary) get a short text and are recorded too (`.side_requests`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from loopback_http import LoopbackServer, QuietHandler, answer

ECHO = "STANDIN-ECHO"


@dataclass
class ToolUse:
    name: str
    input: dict
    id: str = ""


def bash(command: str, description: str = "run it", **extra: Any) -> ToolUse:
    return ToolUse("Bash", {"command": command, "description": description, **extra})


def tool(name: str, input: dict) -> ToolUse:
    return ToolUse(name, dict(input))


def _blocks(content) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content or [])


def _text_of(block: dict) -> str:
    if block.get("type") == "text":
        return block.get("text") or ""
    if block.get("type") == "tool_result":
        c = block.get("content")
        if isinstance(c, list):
            return "\n".join(b.get("text", "") for b in c if isinstance(b, dict))
        return str(c or "")
    return ""


@dataclass
class AnthropicStandin(LoopbackServer):
    turns: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    side_requests: list = field(default_factory=list)

    # ---- reading what the client sent ------------------------------------------------------
    @property
    def main_requests(self) -> list[dict]:
        return [r for r in self.requests if r.get("tools")]

    def last_request(self) -> dict:
        reqs = self.main_requests
        assert reqs, "the client sent no main-loop request to the model"
        return reqs[-1]

    def user_texts(self, request: dict | None = None) -> list[str]:
        """Every text the client sent in user turns (prompts, ! output, tool results)."""
        request = request or self.last_request()
        out = []
        for msg in request.get("messages", []):
            if msg.get("role") == "user":
                out += [_text_of(b) for b in _blocks(msg.get("content"))]
        return [t for t in out if t]

    def seen(self) -> str:
        """All user-side text of the last main request, joined: what the model was shown."""
        return "\n".join(self.user_texts())

    def tool_results(self, request: dict | None = None) -> list[dict]:
        request = request or self.last_request()
        out = []
        for msg in request.get("messages", []):
            if msg.get("role") == "user":
                out += [b for b in _blocks(msg.get("content")) if b.get("type") == "tool_result"]
        return out

    def tool_result_texts(self) -> list[str]:
        return [_text_of(b) for b in self.tool_results()]

    def system_text(self, request: dict | None = None) -> str:
        request = request or self.last_request()
        s = request.get("system")
        return s if isinstance(s, str) else "\n".join(b.get("text", "") for b in (s or []))

    def tool_names(self, request: dict | None = None) -> list[str]:
        request = request or self.last_request()
        return [t.get("name") for t in request.get("tools") or []]

    # ---- answering ----------------------------------------------------------------------------
    def _answer(self, body: dict) -> tuple[list[dict], str]:
        if not body.get("tools"):
            self.side_requests.append(body)
            return [{"type": "text", "text": "ok"}], "end_turn"
        n = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        turn = self.turns[n] if n < len(self.turns) else None
        while callable(turn):
            turn = turn(body)
        if isinstance(turn, ToolUse):
            block = {"type": "tool_use", "id": turn.id or f"toolu_standin_{n:02d}",
                     "name": turn.name, "input": turn.input}
            return [block], "tool_use"
        if turn is None:  # the client may end with a system message: take the last user turn
            users = [m for m in body.get("messages", []) if m.get("role") == "user"]
            last = users[-1] if users else {}
            results = [b for b in _blocks(last.get("content")) if b.get("type") == "tool_result"]
            turn = ECHO + json.dumps(results)
        return [{"type": "text", "text": str(turn)}], "end_turn"

    # ---- server -------------------------------------------------------------------------------
    def __enter__(self) -> AnthropicStandin:
        standin = self
        lock = threading.Lock()

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                raw = self.body()
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._json(400, {"type": "error", "error": {
                        "type": "invalid_request_error", "message": "bad json"}})
                path = self.path.split("?", 1)[0]
                if path.endswith("/count_tokens"):
                    return self._json(200, {"input_tokens": 10})
                if not path.endswith("/v1/messages"):
                    return self._json(404, {"type": "error", "error": {
                        "type": "not_found_error", "message": path}})
                with lock:
                    standin.requests.append(body)
                    content, stop = standin._answer(body)
                msg = {"id": f"msg_standin_{len(standin.requests):03d}", "type": "message",
                       "role": "assistant", "model": body.get("model", "standin"),
                       "content": content, "stop_reason": stop, "stop_sequence": None,
                       "usage": {"input_tokens": 10, "output_tokens": 5,
                                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
                if body.get("stream"):
                    return self._stream(msg)
                return self._json(200, msg)

            def do_GET(self):  # noqa: N802
                self._json(404, {"type": "error", "error": {"type": "not_found_error",
                                                            "message": self.path}})

            def do_HEAD(self):  # noqa: N802
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def _json(self, status: int, doc: dict) -> None:
                data = json.dumps(doc).encode()
                answer(self, data, "application/json", status=status)

            def _stream(self, msg: dict) -> None:
                head = dict(msg, content=[], stop_reason=None)
                events = [("message_start", {"type": "message_start", "message": head})]
                for i, block in enumerate(msg["content"]):
                    if block["type"] == "text":
                        start = dict(block, text="")
                        delta = {"type": "text_delta", "text": block["text"]}
                    else:
                        start = dict(block, input={})
                        delta = {"type": "input_json_delta",
                                 "partial_json": json.dumps(block["input"])}
                    events += [
                        ("content_block_start", {"type": "content_block_start", "index": i,
                                                 "content_block": start}),
                        ("content_block_delta", {"type": "content_block_delta", "index": i,
                                                 "delta": delta}),
                        ("content_block_stop", {"type": "content_block_stop", "index": i})]
                events += [("message_delta", {"type": "message_delta",
                                              "delta": {"stop_reason": msg["stop_reason"],
                                                        "stop_sequence": None},
                                              "usage": {"output_tokens": 5}}),
                           ("message_stop", {"type": "message_stop"})]
                data = b"".join(f"event: {e}\ndata: {json.dumps(d)}\n\n".encode()
                                for e, d in events)
                answer(self, data, "text/event-stream", stream=True)

        self._serve(Handler)
        return self


# ================================================================================================
# driving the real client: `claude -p ... --plugin-dir PLUGIN --output-format json` fully offline

import re  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

import plugin_helpers as ph  # noqa: E402


def ready_venv(dest: Path) -> Path:
    """A plugin environment that scripts/setup_env.py reports as ready, without any install."""
    from conftest import stand_in_plugin_venv
    return stand_in_plugin_venv(dest)


@dataclass
class ClientRun:
    proc: subprocess.CompletedProcess
    standin: AnthropicStandin
    result: dict
    home: Path
    cwd: Path

    @property
    def text(self) -> str:
        return self.result.get("result") or ""

    @property
    def denials(self) -> list[dict]:
        return self.result.get("permission_denials") or []

    @property
    def denied_commands(self) -> list[str]:
        return [d["tool_input"].get("command", json.dumps(d["tool_input"])) for d in self.denials]

    def tool_results(self) -> list[str]:
        """The tool_result texts the model got back, in order."""
        return self.standin.tool_result_texts() if self.standin.main_requests else []

    def __str__(self) -> str:  # what an assertion message shows
        return (f"rc={self.proc.returncode} result={self.text[:2000]!r} denials={self.denials}"
                f" stderr={self.proc.stderr[-2000:]!r}")


def client_env(home: Path, standin: AnthropicStandin, emu=None, **extra: str | None) -> dict:
    """The client's environment: a throwaway HOME (no XDG_* from outside), the stand-in as the
    Anthropic API with a fake key, non-essential traffic and telemetry off, the emulator as
    DEVIN_API_BASE with its token and org; `extra` overrides (None removes)."""
    env = ph.claude_env(home)
    for key in [k for k in env if k.startswith(("XDG_", "ANTHROPIC_", "CLAUDE_"))]:
        env.pop(key)
    env.update(ANTHROPIC_API_KEY="sk-ant-standin-not-a-real-key", ANTHROPIC_BASE_URL=standin.url,
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_TELEMETRY="1",
               DEVIN_DEDUP_SETTLE_SECONDS="0.2", PYTHONDONTWRITEBYTECODE="1")
    if emu is not None:
        env.update(DEVIN_API_BASE=emu.url, DEVIN_SERVICE_USER_TOKEN=emu.token,
                   DEVIN_ORG_ID=emu.org_id)
    for key, value in extra.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_client(prompt: str, turns: list, *, home: Path, emu=None, plugin: Path | None = ph.REPO,
               args: tuple | list = (), cwd: Path | None = None,
               env: dict | None = None, mcp: bool = False) -> ClientRun:
    """One `claude -p PROMPT` against a fresh stand-in scripted with `turns` (plugin=None: the plugin
    installed in `home`, as a user has it, instead of --plugin-dir).

    Unless `mcp`, the plugin's MCP server is left out (`--strict-mcp-config`): the commands, the
    skill and the hook only use Bash, and starting the server doubles the client's start-up time
    (about 0.6 s -> 1.3 s per run)."""
    binary = ph.claude_bin()
    assert binary, ph.missing_claude_message()
    home.mkdir(parents=True, exist_ok=True)
    cwd = cwd or home / "work"
    cwd.mkdir(parents=True, exist_ok=True)
    with AnthropicStandin(list(turns)) as standin:
        proc = subprocess.run(
            [binary, "-p", prompt, *(["--plugin-dir", str(plugin)] if plugin else []), "--output-format", "json",
             *([] if mcp else ["--strict-mcp-config"]), *args],
            capture_output=True, text=True, timeout=150, cwd=str(cwd),
            env=client_env(home, standin, emu, **(env or {})))
    assert proc.stdout.strip(), f"no JSON from the client (rc {proc.returncode}): {proc.stderr}"
    return ClientRun(proc, standin, json.loads(proc.stdout), home, cwd)


# ------------------------------------------------------------------------------------------------
# the calls a command's markdown tells the model to make

_FENCE = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
_INLINE = re.compile(r"(?<!!)`(python3 \$\{CLAUDE_PLUGIN_ROOT\}/scripts/[^`\n]+)`")
_HEREDOC_START = re.compile(r"<<'([A-Za-z0-9_]+)'$")
# The free-text placeholder of a documented call: --prompt='TASK TEXT', --message='MESSAGE TEXT', --body='BODY'.
_FREE_TEXT = re.compile(r"--(?:prompt|message|body)=('(?:TASK TEXT|MESSAGE TEXT|BODY|NEW BODY)')")


def documented_calls(md_path: Path) -> list[str]:
    """Every script call a command (or the skill) tells the model to run, verbatim: each line of a
    ```bash block (a heredoc call with its body and end marker as one call) and each inline
    `python3 ${CLAUDE_PLUGIN_ROOT}/scripts/...` code span (not the `!` lines)."""
    _fm, body = ph.read_md(md_path)
    calls = []
    for block in _FENCE.findall(body):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            m = _HEREDOC_START.search(lines[i])
            if m:
                end = lines.index(m.group(1), i + 1)
                calls.append("\n".join(lines[i:end + 1]))
                i = end + 1
            else:
                if lines[i].strip():
                    calls.append(lines[i])
                i += 1
    calls += _INLINE.findall(body)
    return calls


def call_from(md_path: Path, script: str, fills: dict[str, str] | None = None, *,
              body: str | None = None, root: Path = ph.REPO, index: int = 0) -> str:
    """The documented call of `script` ("create_session.py", "playbooks.py create", ...) in a
    command's markdown, with its placeholders filled: `fills` maps each placeholder word as written
    (SESSION, TITLE, OWNER/REPO, N, ...) to its value, `body` replaces a heredoc's body lines.
    Fails if the command no longer documents the call or a placeholder is gone."""
    prefix = f"python3 {ph.PLUGIN_ROOT_VAR}/scripts/{script}"
    found = [c for c in documented_calls(md_path)
             if c == prefix or c.startswith(prefix + " ") or c.startswith(prefix + "\n")]
    assert len(found) > index, f"{md_path.name} documents no call {prefix!r}: {documented_calls(md_path)}"
    return fill_call(found[index], fills, body=body, root=root)


def fill_call(call: str, fills: dict | None = None, *, body: str | None = None,
              root: Path = ph.REPO, strict: bool = True) -> str:
    """One documented call with its placeholders filled (see call_from); with strict=False,
    placeholders of `fills` that the call does not have are skipped."""
    lines = call.split("\n")
    first = lines[0]
    for key, values in (fills or {}).items():
        pattern = r"(?<![A-Za-z0-9_])" + re.escape(key) + r"(?![A-Za-z0-9_])"
        if not strict and not re.search(pattern, first):
            continue
        for value in ([values] if isinstance(values, str) else values):
            assert re.search(pattern, first), f"placeholder {key!r} not (or not again) in {first!r}"
            first = re.sub(pattern, lambda _m, v=value: v, first, count=1)
    free = _FREE_TEXT.search(first)
    if len(lines) == 1 and free:
        assert body is not None, f"{first!r} takes free text: pass body="
        quoted = "'" + body.replace("'", "'\\''") + "'"  # as the command tells the model to write it
        return ph.substitute_root(first[:free.start(1)] + quoted + first[free.end(1):], root)
    if len(lines) > 1:
        assert body is not None, f"{first!r} takes a heredoc body: pass body="
        assert "\n" + lines[-1] + "\n" not in "\n" + body + "\n", "body holds the end marker"
        text = "\n".join([first, body, lines[-1]])
    else:
        assert body is None, f"{first!r} has no heredoc"
        text = first
    return ph.substitute_root(text, root)
