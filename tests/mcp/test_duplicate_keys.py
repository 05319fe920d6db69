"""Issue 14: a tools/call whose JSON names a key twice is refused, as the scripts refuse such input.

The SDK parses each JSON-RPC line itself and keeps one of two values silently, and its client cannot
send a key twice; so the server runs as a subprocess here and is spoken to in raw JSON-RPC lines, against
the emulator: the call is refused (invalid_input, naming the key) and nothing reaches the API, while a
call without duplicates, a message that is not a tools/call and a line that is not JSON are served as
before. Then strict_stdin's pieces in process: the line inspection, the text layer, the stdin claim.
"""

from __future__ import annotations

import io
import json
import os
import queue
import subprocess
import sys
import threading

import pytest

from conftest import PYTHON, ROOT, SCRIPTS, base_env, sent

from devin_plugin.mcp_server.runner import DUPLICATE_KEYS_SENTINEL
from devin_plugin.mcp_server.strict_stdin import KEY_MAX_CHARS, StrictStdin, inspect

SERVER = SCRIPTS / "mcp_server.py"
TIMEOUT = 60


class Raw:
    """The server over stdio, spoken to in raw lines; its answers are read by a thread into a queue."""

    def __init__(self, env: dict, args: tuple[str, ...] = ()):
        self.proc = subprocess.Popen([PYTHON, str(SERVER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd=str(ROOT))
        self.out: queue.Queue = queue.Queue()
        self.other: list[dict] = []  # what came besides the awaited answers (notifications, stray errors)
        self.ids = 100
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.out.put(json.loads(line))
        self.out.put(None)

    def send(self, line):
        self.proc.stdin.write((line.encode() if isinstance(line, str) else line) + b"\n")
        self.proc.stdin.flush()

    def answer(self, rid) -> dict:
        while True:
            msg = self.out.get(timeout=TIMEOUT)
            assert msg is not None, "the server closed its stdout"
            if msg.get("id") == rid and "method" not in msg:
                return msg
            self.other.append(msg)

    def request(self, method: str, params=None) -> dict:
        self.ids += 1
        msg = {"jsonrpc": "2.0", "id": self.ids, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(json.dumps(msg))
        return self.answer(self.ids)

    def raw_call(self, name_and_args: str) -> dict:
        """A tools/call whose params are given as raw JSON text (so they can name a key twice)."""
        self.ids += 1
        self.send(f'{{"jsonrpc": "2.0", "id": {self.ids}, "method": "tools/call", "params": {name_and_args}}}')
        return self.answer(self.ids)

    def call(self, name: str, args_json: str) -> dict:
        return self.raw_call(f'{{"name": "{name}", "arguments": {args_json}}}')

    def close(self) -> int:
        self.proc.stdin.close()
        return self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def env(emu, dirs):
    e = base_env(dirs, emu)
    e["DEVIN_DEDUP_SETTLE_SECONDS"] = "0"
    return e


@pytest.fixture
def server(env):
    raw = Raw(env)
    try:
        init = raw.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                          "clientInfo": {"name": "raw-test", "version": "0"}})
        assert init["result"]["serverInfo"]["name"] == "devin"
        raw.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        yield raw
    finally:
        if raw.proc.poll() is None:
            assert raw.close() == 0  # EOF on stdin still ends the server cleanly
        raw.proc.stdout.close()


def refused(answer: dict, key: str) -> str:
    """The answer is a tool error (not a JSON-RPC error) of kind invalid_input naming `key`."""
    assert "error" not in answer, answer
    res = answer["result"]
    assert res["isError"] is True, res
    doc = res["structuredContent"]["error"]
    assert doc["kind"] == "invalid_input", doc
    assert f"the arguments name {ascii(key)} more than once" in doc["message"]
    assert "Nothing was sent." in doc["message"]
    assert res["content"][0]["text"] == f"devin: invalid_input: {doc['message']}"
    return doc["message"]


def success(answer: dict) -> dict:
    assert "error" not in answer, answer
    res = answer["result"]
    assert res["isError"] is False, res["content"][0]["text"]
    return res["structuredContent"]


# -- over the wire ----------------------------------------------------------------------------------

def test_a_duplicated_argument_is_refused_and_nothing_is_sent(emu, server):
    a = emu.create_session_direct(emu.org_id, prompt="x", title="first")["session_id"]
    b = emu.create_session_direct(emu.org_id, prompt="x", title="second")["session_id"]
    refused(server.call("get_session", f'{{"session": "{a}", "session": "{b}"}}'), "session")
    # The same key spelt with an escape is the same key once decoded.
    refused(server.call("get_session", f'{{"session": "{a}", "\\u0073ession": "{b}"}}'), "session")
    # Equal values too: the key is named twice all the same.
    refused(server.call("send_message", f'{{"session": "{a}", "message": "hi", "message": "hi"}}'), "message")
    assert sent(emu) == []


def test_a_duplicate_nested_in_a_payload_value_is_refused(emu, server):
    schema = ('{"type": "object", "properties": {"answer": {"type": "string"}, '
              '"answer": {"type": "integer"}}}')
    refused(server.call("create_session", f'{{"prompt": "do it", "structured_output_schema": {schema}}}'),
            "answer")
    deep = '{"type": "object", "properties": {"a": {"type": "array", "items": [{"type": "string", "type": "x"}]}}}'
    refused(server.call("create_session", f'{{"prompt": "do it", "structured_output_schema": {deep}}}'), "type")
    assert sent(emu) == []


def test_a_duplicated_forbidden_spelling_is_refused(emu, server):
    s = emu.create_session_direct(emu.org_id, prompt="x", title="t")["session_id"]
    for name, args in (("send_message", f'"session": "{s}", "message": "hi"'),
                       ("get_session", f'"session": "{s}"'), ("create_session", '"prompt": "do it"')):
        refused(server.call(name, f'{{{args}, "message_as_user_id": "u-1", "message_as_user_id": "u-2"}}'),
                "message_as_user_id")
    assert sent(emu) == []


def test_a_key_named_twice_in_params_itself_is_refused(emu, server):
    s = emu.create_session_direct(emu.org_id, prompt="x", title="t")["session_id"]
    # Two sets of arguments: neither is used.
    refused(server.raw_call(f'{{"name": "get_session", "arguments": {{"session": "{s}"}}, '
                            f'"arguments": {{"session": "{s}"}}}}'), "arguments")
    # Two tool names: the one the SDK would have picked (the last) answers, with the refusal.
    refused(server.raw_call(f'{{"name": "delete_secret", "name": "get_session", '
                            f'"arguments": {{"session": "{s}"}}}}'), "name")
    # A key twice in _meta or at the top of the message: the call is as ambiguous, and refused too.
    refused(server.raw_call(f'{{"name": "get_session", "arguments": {{"session": "{s}"}}, '
                            '"_meta": {"progressToken": 1, "progressToken": 2}}'), "progressToken")
    server.ids += 1
    server.send(f'{{"jsonrpc": "2.0", "jsonrpc": "2.0", "id": {server.ids}, "method": "tools/call", '
                f'"params": {{"name": "get_session", "arguments": {{"session": "{s}"}}}}}}')
    refused(server.answer(server.ids), "jsonrpc")
    assert sent(emu) == []


def test_calls_without_duplicates_work_as_before(emu, server):
    s = emu.create_session_direct(emu.org_id, prompt="x", title="plain title")
    doc = success(server.call("get_session", f'{{"session": "{s["session_id"]}"}}'))
    assert doc["session_id"] == s["session_id"] and doc["title"] == "plain title"
    # The same key in different objects is no duplicate: the schema reaches the API as given.
    schema = {"type": "object", "properties": {"type": {"type": "string"}, "items": {"type": "array",
                                                                                      "items": {"type": "string"}}}}
    doc = success(server.call("create_session", json.dumps({"prompt": "Fix the flaky test in the auth service",
                                                            "structured_output_schema": schema})))
    posts = sent(emu, "POST")
    assert len(posts) == 1 and posts[0].json["structured_output_schema"] == schema
    assert doc["session_id"].startswith("devin-")
    # A message that is not a tools/call is never changed, duplicates or not.
    server.ids += 1
    server.send(f'{{"jsonrpc": "2.0", "id": {server.ids}, "method": "ping", "method": "ping"}}')
    assert server.answer(server.ids) == {"jsonrpc": "2.0", "id": server.ids, "result": {}}
    tools = server.request("tools/list")["result"]["tools"]
    assert "get_session" in {t["name"] for t in tools}


def test_a_line_that_is_not_json_leaves_the_server_serving(emu, server):
    s = emu.create_session_direct(emu.org_id, prompt="x", title="t")["session_id"]
    for junk in ("this is not json", '{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {',
                 b"\xff\xfe{not utf-8}", "[1, 2", "   "):
        server.send(junk)
    assert success(server.call("get_session", f'{{"session": "{s}"}}'))["session_id"] == s
    # Whatever the SDK makes of the junk (today: nothing), it is never an answer to a request.
    assert all(m.get("id") is None for m in server.other if "method" not in m), server.other
    assert server.proc.poll() is None


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_the_server_reads_the_wire_off_fd_0(server):
    """As with the SDK's own stdin: while serving, fd 0 is the null device and the wire a private descriptor."""
    assert server.request("ping")["result"] == {}
    fds = f"/proc/{server.proc.pid}/fd"
    assert os.readlink(f"{fds}/0") == os.devnull
    pipe = os.fstat(server.proc.stdin.fileno())
    assert any(os.path.samestat(os.stat(f"{fds}/{fd}"), pipe) for fd in os.listdir(fds) if int(fd) > 2)


# -- in process -------------------------------------------------------------------------------------

UNCHANGED = [
    "not json\n",
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "arguments": {"a": 1}}}\n',
    # Duplicates outside a tools/call are the SDK's business, as before.
    '{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"a": 1, "a": 2}}\n',
    '{"jsonrpc": "2.0", "id": 1, "result": {"a": 1, "a": 2}}\n',
    '[{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"arguments": {"a": 1, "a": 2}}}]\n',
    # Odd spacing, escapes, non-ASCII, big numbers, NaN: kept character for character.
    ' {"jsonrpc":"2.0" ,"id":1,"method":"tools\\/call","params":{"name":"x","arguments":{"é":"\\u00e9",'
    '"n":123456789012345678901234567890,"f":NaN,"b":["a","a"]}}}\r\n',
    '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "x", "arguments": {"a": 1}}}',
    "[" * 5000 + "]" * 5000 + "\n",
]


@pytest.mark.parametrize("line", UNCHANGED)
def test_lines_without_a_duplicate_in_a_call_pass_unchanged(line):
    assert inspect(line) is line


def test_the_rewritten_call_keeps_everything_but_the_arguments():
    line = ('{"jsonrpc": "2.0", "id": "r-7", "method": "tools/call", "params": {"name": "get_session", '
            '"_meta": {"progressToken": "p"}, "arguments": {"x": {"y": [{"k": 1, "k": 2}]}}}}\n')
    out = inspect(line)
    assert out.endswith("\n") and out.count("\n") == 1 and out.isascii()
    assert json.loads(out) == {"jsonrpc": "2.0", "id": "r-7", "method": "tools/call",
                               "params": {"name": "get_session", "_meta": {"progressToken": "p"},
                                          "arguments": {DUPLICATE_KEYS_SENTINEL: "k"}}}
    # The escaped spelling of the method is the method; the key's name is cut to a bound.
    long = "k" * 10_000
    out = json.loads(inspect(f'{{"id": 1, "method": "tools\\/call", "params": {{"arguments": '
                             f'{{"{long}": 1, "{long}": 2}}}}}}'))
    assert out["params"] == {"arguments": {DUPLICATE_KEYS_SENTINEL: "k" * KEY_MAX_CHARS}}
    # params that are not an object: the arguments still carry the refusal (the SDK rejects the call).
    out = json.loads(inspect('{"id": 1, "method": "tools/call", "params": [1], "id": 2}'))
    assert out == {"id": 2, "method": "tools/call", "params": {"arguments": {DUPLICATE_KEYS_SENTINEL: "id"}}}


def test_the_text_layer_reads_as_the_sdks_own_does():
    data = ('{"a": 1}\r\nnot json\n\xe9t\xe9\n\n{"jsonrpc": "2.0", "id": 1, "method": "tools/call", '
            '"params": {"arguments": {"a": 1, "a": 2}}}\nlast').encode() + b"\xff\n"
    sdk = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace")  # as stdio_server builds it
    wire = io.BytesIO(data)
    ours = StrictStdin(wire)
    got, want = list(iter(ours.readline, "")), list(iter(sdk.readline, ""))
    assert len(got) == len(want) == 6 and ours.readline() == ""
    assert got[:4] + got[5:] == want[:4] + want[5:] and got[5] == "last\ufffd\n"
    assert json.loads(got[4])["params"]["arguments"] == {DUPLICATE_KEYS_SENTINEL: "a"}
    with pytest.raises(io.UnsupportedOperation):
        ours.read()
    with pytest.raises(io.UnsupportedOperation):
        ours.readline(10)
    ours.close()
    assert not wire.closed  # the wire is not the reader's to close


CLAIM = """
import os, sys
from devin_plugin.mcp_server.strict_stdin import claim_stdin
pipe = os.fstat(0)
wire, restore = claim_stdin()
assert os.read(0, 10) == b"", "fd 0 should read EOF while claimed"
assert os.path.samestat(os.fstat(0), os.stat(os.devnull))
assert wire.fileno() > 2 and os.path.samestat(os.fstat(wire.fileno()), pipe)
sys.stdout.write(wire.readline().decode())
restore()
assert os.path.samestat(os.fstat(0), pipe)
sys.stdout.write(wire.readline().decode())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX descriptors")
def test_the_wire_is_claimed_off_fd_0_while_serving(dirs):
    env = base_env(dirs)
    env["PYTHONPATH"] = str(ROOT / "lib")
    proc = subprocess.run([PYTHON, "-c", CLAIM], input=b"one\ntwo\n", capture_output=True, env=env,
                          timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"one\ntwo\n"
