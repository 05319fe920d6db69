"""The Anthropic Messages API stand-in itself (tests/client/anthropic_standin.py), without the client."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import anthropic_standin as st  # noqa: E402
import plugin_helpers as ph  # noqa: E402

TOOLS = [{"name": "Bash", "input_schema": {"type": "object"}}]


def post(url: str, body: dict, path: str = "/v1/messages") -> tuple[str, bytes]:
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
        return resp.headers["content-type"], resp.read()


def sse_events(raw: bytes) -> list[tuple[str, dict]]:
    out = []
    for chunk in raw.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_plain_json_turns_follow_the_script_and_echo_tool_results():
    with st.AnthropicStandin([st.bash("ls"), "done"]) as s:
        user = {"role": "user", "content": "hi"}
        ctype, raw = post(s.url, {"messages": [user], "tools": TOOLS})
        first = json.loads(raw)
        assert ctype == "application/json" and first["stop_reason"] == "tool_use"
        (block,) = first["content"]
        assert block["type"] == "tool_use" and block["input"]["command"] == "ls"
        result = {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": block["id"], "content": "file.txt"}]}
        msgs = [user, {"role": "assistant", "content": [block]}, result]
        assert json.loads(post(s.url, {"messages": msgs, "tools": TOOLS})[1])["content"] == [
            {"type": "text", "text": "done"}]
        # past the script: an echo of the tool results of the last user turn, even when the
        # client ends with a system message
        msgs += [{"role": "assistant", "content": "done"}, result,
                 {"role": "system", "content": "reminder"}]
        echo = json.loads(post(s.url, {"messages": msgs, "tools": TOOLS})[1])
        assert echo["content"][0]["text"].startswith(st.ECHO) and "file.txt" in echo["content"][0]["text"]
        # side requests (no tools) and token counting do not consume the script
        assert json.loads(post(s.url, {"messages": [user]})[1])["content"][0]["text"] == "ok"
        assert json.loads(post(s.url, {"messages": [user]}, "/v1/messages/count_tokens")[1]) == {
            "input_tokens": 10}
    assert len(s.requests) == 4 and len(s.side_requests) == 1 and len(s.main_requests) == 3
    assert s.tool_result_texts() == ["file.txt", "file.txt"]


def test_sse_stream_carries_the_same_turn():
    with st.AnthropicStandin([lambda body: st.tool("mcp__x__y", {"a": len(body["messages"])})]) as s:
        ctype, raw = post(s.url, {"messages": [{"role": "user", "content": "go"}], "tools": TOOLS,
                                  "stream": True})
    assert ctype == "text/event-stream"
    events = sse_events(raw)
    assert [e for e, _ in events] == ["message_start", "content_block_start", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"]
    assert events[1][1]["content_block"]["name"] == "mcp__x__y"
    assert json.loads(events[2][1]["delta"]["partial_json"]) == {"a": 1}
    assert events[4][1]["delta"]["stop_reason"] == "tool_use"


def test_documented_calls_are_read_from_the_markdown():
    call = st.call_from(ph.COMMANDS_DIR / "delegate.md", "create_session.py",
                        {"TITLE": "T", "OWNER/REPO": "o/r", "N": "2"}, body="x $(y) it's")
    assert call == (f"python3 {ph.REPO}/scripts/create_session.py --title 'T' --repo o/r "
                    "--max-acu 2 --prompt='x $(y) it'\\''s'")
    # the `!` lines are not among them
    assert st.documented_calls(ph.COMMANDS_DIR / "secrets.md") == []
