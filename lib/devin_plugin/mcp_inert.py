"""The MCP server before it is set up: a standard-library stdio responder with no tools.

A host starts the plugin's MCP server as soon as the plugin is installed, before `/devin:setup` has
created the Python environment and before anyone asked for the MCP extra. A server that exits then
shows as failed (`claude mcp list`), with its reason only in a log. This one connects instead: it
answers `initialize` with instructions that say what to run, lists no tools, and answers any tool
call with that same sentence as an error. Nothing here reads a credential or opens a connection.
"""

from __future__ import annotations

import json
from typing import IO, Any

# The versions this responder speaks; it answers with the client's when it knows it (the MCP rule).
PROTOCOL_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
LINE_MAX = 1 << 20  # a JSON-RPC line longer than this is refused unread: nothing here needs more


def _answer(msg: Any, reason: str, version: str) -> dict | None:
    """The JSON-RPC answer to one message, or None for a notification."""
    if not isinstance(msg, dict) or msg.get("jsonrpc") != "2.0" or not isinstance(msg.get("method"), str):
        return {"jsonrpc": "2.0", "id": msg.get("id") if isinstance(msg, dict) else None,
                "error": {"code": -32600, "message": "Invalid Request"}}
    if "id" not in msg:
        return None  # notifications (initialized, cancelled, ...) need no answer
    method, mid = msg["method"], msg["id"]
    if not (isinstance(mid, str) or (isinstance(mid, int) and not isinstance(mid, bool))):
        return {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}}
    if method == "initialize":
        params = msg.get("params")
        asked = params.get("protocolVersion") if isinstance(params, dict) else None
        result: dict = {"protocolVersion": asked if asked in PROTOCOL_VERSIONS else PROTOCOL_VERSIONS[0],
                        "capabilities": {"tools": {"listChanged": False}},
                        "serverInfo": {"name": "devin", "title": "Devin (not set up)", "version": version},
                        "instructions": reason}
    elif method == "ping":
        result = {}
    elif method == "tools/list":
        result = {"tools": []}
    elif method == "tools/call":
        result = {"content": [{"type": "text", "text": "devin: config: " + reason}], "isError": True}
    else:
        return {"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "Method not found"}}
    return {"jsonrpc": "2.0", "id": mid, "result": result}


def serve(reason: str, version: str, src: IO[bytes], dst: IO[bytes]) -> int:
    """Answer newline-delimited JSON-RPC from `src` (the server's stdin) on `dst` until `src` closes."""
    while True:
        line = src.readline(LINE_MAX + 1)
        if not line:
            return 0
        if len(line) > LINE_MAX:
            while line and not line.endswith(b"\n"):  # skip the rest of the oversized line
                line = src.readline(LINE_MAX)
            out: dict | None = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Request too large"}}
        elif not line.strip():
            continue
        else:
            try:
                msg = json.loads(line)
            except (ValueError, RecursionError):  # a deeply nested line must not end the server
                out = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
            else:
                out = _answer(msg, reason, version)
        if out is not None:
            dst.write(json.dumps(out, ensure_ascii=True, allow_nan=False).encode("ascii") + b"\n")
            dst.flush()
