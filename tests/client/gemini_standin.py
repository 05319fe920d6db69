"""A loopback stand-in for the Gemini API, for driving the real `gemini -p` offline.

`GeminiStandin(turns)` listens on 127.0.0.1 (a fresh port per instance) and answers what the Gemini
CLI's `@google/genai` client calls under `GOOGLE_GEMINI_BASE_URL`:

* `POST /v1beta/models/{model}:generateContent` (plain JSON),
* `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` (one SSE `data:` event per chunk),
* `POST /v1beta/models/{model}:countTokens`.

Every generateContent body is recorded in `.requests` (with the model, the path and the x-goog-api-key
header in `_model`, `_path` and `_api_key`); anything else (an unknown path, a GET) is recorded in
`.other_requests` and answered 404.

A test scripts the model turn by turn: the answer to a main-loop request (one that offers function
declarations) is picked by how many model turns the request's `contents` already hold (0 = the first
answer, 1 = the answer after the first function response, ...). A turn is

* a `str`: a text answer that ends the turn;
* `call(name, args)`: one functionCall part;
* a callable `f(request_body) -> turn`, to decide from what the client sent.

Past the end of the script the stand-in answers with an echo: the text `STANDIN-ECHO` followed by
the JSON of the functionResponse parts of the last user content, so the client's `response` field
shows what the tools returned. Requests that offer no function declarations (a side request of the
client, e.g. a title or a check) get a short text and are recorded in `.side_requests` too.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from loopback_http import LoopbackServer, QuietHandler, answer

ECHO = "STANDIN-ECHO"


@dataclass
class FunctionCall:
    name: str
    args: dict


def call(name: str, args: dict) -> FunctionCall:
    return FunctionCall(name, dict(args))


def _parts(content: dict) -> list[dict]:
    return [p for p in content.get("parts") or [] if isinstance(p, dict)]


@dataclass
class GeminiStandin(LoopbackServer):
    turns: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    side_requests: list = field(default_factory=list)
    other_requests: list = field(default_factory=list)

    # ---- reading what the client sent ------------------------------------------------------
    @staticmethod
    def declarations(request: dict) -> list[dict]:
        """Every function declaration the request offers the model, as sent."""
        out: list[dict] = []
        for t in request.get("tools") or []:
            out += t.get("functionDeclarations") or t.get("function_declarations") or []
        return out

    @property
    def main_requests(self) -> list[dict]:
        return [r for r in self.requests if self.declarations(r)]

    def last_request(self) -> dict:
        reqs = self.main_requests
        assert reqs, "the client sent no main-loop request to the model"
        return reqs[-1]

    def tool_names(self, request: dict | None = None) -> list[str]:
        return [d.get("name") for d in self.declarations(request or self.last_request())]

    def function_responses(self, request: dict | None = None) -> list[dict]:
        """The functionResponse objects ({name, response, id?}) of the request's user contents, in order."""
        request = request or self.last_request()
        out = []
        for content in request.get("contents") or []:
            if content.get("role") == "user":
                out += [p["functionResponse"] for p in _parts(content) if "functionResponse" in p]
        return out

    def user_texts(self, request: dict | None = None) -> list[str]:
        request = request or self.last_request()
        return [p["text"] for c in request.get("contents") or [] if c.get("role") == "user"
                for p in _parts(c) if p.get("text")]

    def system_text(self, request: dict | None = None) -> str:
        request = request or self.last_request()
        si = request.get("systemInstruction") or request.get("system_instruction") or {}
        if isinstance(si, str):
            return si
        return "\n".join(p.get("text", "") for p in _parts(si))

    # ---- answering ----------------------------------------------------------------------------
    def _answer(self, body: dict) -> list[dict]:
        if not self.declarations(body):
            self.side_requests.append(body)
            return [{"text": "ok"}]
        n = sum(1 for c in body.get("contents") or [] if c.get("role") == "model")
        turn = self.turns[n] if n < len(self.turns) else None
        while callable(turn):
            turn = turn(body)
        if isinstance(turn, FunctionCall):
            return [{"functionCall": {"name": turn.name, "args": turn.args}}]
        if turn is None:
            users = [c for c in body.get("contents") or [] if c.get("role") == "user"]
            last = users[-1] if users else {}
            responses = [p["functionResponse"] for p in _parts(last) if "functionResponse" in p]
            turn = ECHO + json.dumps(responses)
        return [{"text": str(turn)}]

    # ---- server -------------------------------------------------------------------------------
    def __enter__(self) -> GeminiStandin:
        standin = self
        lock = threading.Lock()

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802
                raw = self.body()
                path, _, query = self.path.partition("?")
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return self._error(400, "INVALID_ARGUMENT", "bad json")
                model, _, method = path.rpartition("/")[2].partition(":")
                if method == "countTokens":
                    return self._json(200, {"totalTokens": 10})
                if method not in ("generateContent", "streamGenerateContent"):
                    with lock:
                        standin.other_requests.append({"method": "POST", "path": self.path, "body": body})
                    return self._error(404, "NOT_FOUND", path)
                with lock:
                    body["_model"], body["_path"] = model, self.path
                    body["_api_key"] = self.headers.get("x-goog-api-key")
                    standin.requests.append(body)
                    parts = standin._answer(body)
                doc = {"candidates": [{"content": {"role": "model", "parts": parts},
                                       "finishReason": "STOP", "index": 0}],
                       "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                         "totalTokenCount": 15},
                       "modelVersion": model, "responseId": f"standin-{len(standin.requests):03d}"}
                if method == "streamGenerateContent":
                    return self._stream(doc, sse="alt=sse" in query)
                return self._json(200, doc)

            def do_GET(self):  # noqa: N802
                with lock:
                    standin.other_requests.append({"method": "GET", "path": self.path})
                self._error(404, "NOT_FOUND", self.path)

            def _error(self, status: int, code: str, message: str) -> None:
                self._json(status, {"error": {"code": status, "message": message, "status": code}})

            def _json(self, status: int, doc: Any) -> None:
                data = json.dumps(doc).encode()
                answer(self, data, "application/json", status=status)

            def _stream(self, doc: dict, *, sse: bool) -> None:
                if sse:
                    data, kind = f"data: {json.dumps(doc)}\r\n\r\n".encode(), "text/event-stream"
                else:  # without alt=sse the API streams one JSON array
                    data, kind = json.dumps([doc]).encode(), "application/json"
                answer(self, data, kind, stream=True)

        self._serve(Handler)
        return self


# ================================================================================================
# driving the real client: `gemini -p ... --output-format json` with the plugin installed as an
# extension in a throwaway HOME, fully offline

import os  # noqa: E402
import shutil  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import plugin_helpers as ph  # noqa: E402

sys.path.insert(0, str(ph.REPO / "tests" / "plugin"))
from test_manifests import GEMINI_VERSION, gemini_bin  # noqa: E402

EXTENSION = "devin"                  # gemini-extension.json's name: ~/.gemini/extensions/devin
API_KEY = "standin-not-a-real-key"
MODEL = "gemini-2.5-flash"           # named, so that no model router (a side request) runs first
# ~/.gemini/settings.json: an API-key auth mode, and nothing that phones home.
SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
}
# Variables of the shell running the tests that would change what the client does: its own and Google's
# settings, proxies (the client sends even loopback calls through one) and GitHub Actions' markers (with
# GITHUB_SHA set or SURFACE=Github the client hands stdio MCP servers only PATH, HOME and a few more).
_DROP_PREFIXES = ("GEMINI_", "GOOGLE_", "XDG_", "DEVIN_", "CLAUDE_PLUGIN")
_DROP = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "GITHUB_SHA",
         "SURFACE", "CLOUD_SHELL")


def missing_gemini_message() -> str:
    return (f"the pinned Gemini CLI {GEMINI_VERSION} is not installed: run `python3 dev.py test` "
            "(or set DEVIN_PLUGIN_GEMINI_BIN to its `gemini` binary)")


def gemini_env(home: Path, **extra: str) -> dict[str, str]:
    """The client's environment: a throwaway HOME, no Devin, Gemini, Google or proxy setting from
    outside, the workspace trusted (headless runs refuse an untrusted one), and secrets kept in the
    client's encrypted file under HOME, never in the OS keychain of the machine running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROP_PREFIXES) and k not in _DROP}
    env.update(HOME=str(home), GEMINI_CLI_TRUST_WORKSPACE="true", GEMINI_FORCE_FILE_STORAGE="true",
               PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1")
    env.update(extra)
    return env


def extension_source(dest: Path) -> Path:
    """What `gemini extensions install <git URL of this repository>` would fetch, from the working tree:
    every tracked or new, not ignored file (so no .venv and no caches)."""
    proc = subprocess.run(["git", "-C", str(ph.REPO), "ls-files", "-z", "--cached", "--others",
                           "--exclude-standard"], capture_output=True, check=True, timeout=60)
    for rel in filter(None, proc.stdout.decode().split("\0")):
        src = ph.REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def _cli(binary: str, args: list[str], env: dict, cwd: Path, input: str | None = None,
         timeout: int = 90) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args], input=input, stdin=None if input is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=str(cwd))


def install_extension(home: Path, settings: dict[str, str], *, source: Path) -> Path:
    """As a user would, in `home`: `gemini extensions install <copy> --consent --skip-settings`, then
    `gemini extensions config devin VAR` once per setting, its value typed at the prompt (one prompt per
    call, so one line on stdin answers it: no timing). Writes the settings.json above; returns the
    extension's folder."""
    binary = gemini_bin()
    assert binary, missing_gemini_message()
    home.mkdir(parents=True, exist_ok=True)
    # The set-up commands skip the client's relaunch of itself (only a bigger heap; 1.2 s each).
    env = gemini_env(home, GEMINI_CLI_NO_RELAUNCH="true")
    proc = _cli(binary, ["extensions", "install", str(source), "--consent", "--skip-settings"], env, home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'Extension "{EXTENSION}" installed successfully' in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    for var, value in settings.items():
        proc = _cli(binary, ["extensions", "config", EXTENSION, var], env, home, input=value + "\n")
        assert proc.returncode == 0 and f'Setting "{var}" updated.' in proc.stdout + proc.stderr, \
            proc.stdout + proc.stderr
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS, indent=2) + "\n")
    return home / ".gemini" / "extensions" / EXTENSION


def secret_store_mode(home: Path) -> int:
    return stat.S_IMODE((home / ".gemini" / "gemini-credentials.json").stat().st_mode)


@dataclass
class GeminiRun:
    proc: subprocess.CompletedProcess
    standin: GeminiStandin
    result: dict

    @property
    def text(self) -> str:
        return self.result.get("response") or ""

    def __str__(self) -> str:  # what an assertion message shows
        return f"rc={self.proc.returncode} response={self.text[:2000]!r} stderr={self.proc.stderr[-3000:]!r}"


def run_client(prompt: str, turns: list, *, home: Path, cwd: Path, args: list[str] | tuple = (),
               env: dict[str, str] | None = None, timeout: int = 120) -> GeminiRun:
    """One `gemini -p PROMPT --output-format json -m MODEL ARGS` against a fresh stand-in scripted with
    `turns`, with the stand-in as the Gemini API (GOOGLE_GEMINI_BASE_URL) and a fake GEMINI_API_KEY."""
    binary = gemini_bin()
    assert binary, missing_gemini_message()
    cwd.mkdir(parents=True, exist_ok=True)
    with GeminiStandin(list(turns)) as standin:
        run_env = gemini_env(home, GEMINI_API_KEY=API_KEY, GOOGLE_GEMINI_BASE_URL=standin.url, **(env or {}))
        proc = _cli(binary, ["-p", prompt, "--output-format", "json", "-m", MODEL, *args], run_env, cwd,
                    timeout=timeout)
    assert proc.stdout.strip(), f"no JSON from the client (rc {proc.returncode}): {proc.stderr}"
    return GeminiRun(proc, standin, json.loads(proc.stdout))
