"""The compact tool surface: four broad tools over the same operations, for hosts that load every schema.

A host that does not defer MCP tools (Gemini CLI, the Agent Plugins hosts) pays for each tool's name,
description and input schema in every conversation; the per-operation table costs about 6,900 tokens.
Here the operations are grouped by what they may do, so a host's permission prompt still tells reading
from changing from the irreversible:

- ``devin_read``: the read-only operations;
- ``devin_change``: the operations that create, send, change or write files;
- ``devin_confirmed``: the ones that need the user's explicit yes (terminate, deletes, batch_run);
- ``devin_describe``: an operation's description and full input schema, on demand.

A router adds no path of its own: it checks the operation name (exactly, no normalising, so a
lookalike is refused), then hands the operation's arguments to ``run_tool`` with that operation's
Tool, which applies the payload policy, the option schema and ``confirm`` as the per-operation tool
would.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import output
from ..errors import DevinError, InvalidInput
from .runner import UNTRUSTED_NOTE, Progress, Tool, _no_progress, error_result, refuse_duplicate_keys, run_tool

if TYPE_CHECKING:
    from ..policy import Policy

READ, CHANGE, CONFIRMED, DESCRIBE = "devin_read", "devin_change", "devin_confirmed", "devin_describe"
ROUTERS = (READ, CHANGE, CONFIRMED)
MODES = ("full", "compact")
ENV_MODE = "DEVIN_PLUGIN_MCP_TOOLS"
_ARGS_HELP = "the operation's arguments, as devin_describe shows them"


def group(tool: Tool) -> str:
    """The router an operation belongs to: confirm first (a read-only tool never needs it)."""
    if "confirm" in tool.required:
        return CONFIRMED
    return READ if tool.read_only else CHANGE


@dataclass(frozen=True)
class Router:
    name: str
    title: str
    description: str
    input_schema: dict
    read_only: bool
    destructive: bool

    def annotations(self) -> dict:
        return {"title": self.title, "readOnlyHint": self.read_only, "destructiveHint": self.destructive,
                "idempotentHint": self.read_only, "openWorldHint": self.name != DESCRIBE}


_HEADS = {
    READ: ("Read from Devin",
           "Read-only Devin operations, named like the plugin's scripts; never change anything. session: an id, "
           "its web URL, or last. wait_session waits until Devin needs someone or stops (a timeout error while "
           "it still works)."),
    CHANGE: ("Change something in Devin",
             "Devin operations that create, send or change. create_session (prompt, title; costs ACUs) returns the "
             "active session of the same title and prompt; another prompt needs follow_up or force_new. "
             "dry_run: true in arguments shows the request and sends nothing."),
    CONFIRMED: ("Irreversible or costly Devin operations",
                "Only after the user said yes to this exact action in this conversation: arguments hold confirm: "
                "true."),
}


def routers(table: list[Tool]) -> list[Router]:
    out = []
    for name in ROUTERS:
        ops = [t for t in table if group(t) == name]
        title, head = _HEADS[name]
        args: dict = {"type": "object", "description": _ARGS_HELP}
        if name == CONFIRMED:
            args = dict(args, properties={"confirm": {"const": True}}, required=["confirm"])
        schema = {"type": "object", "additionalProperties": False,
                  "properties": {"operation": {"type": "string", "enum": [t.name for t in ops]}, "arguments": args},
                  "required": ["operation", "arguments"] if name == CONFIRMED else ["operation"]}
        out.append(Router(name, title, head, schema, read_only=name == READ,
                          destructive=name != READ))
    out.append(Router(DESCRIBE, "Describe a Devin operation",
                      "One operation's description and arguments (without operation: every operation, its title "
                      "and its tool).",
                      {"type": "object", "additionalProperties": False,
                       "properties": {"operation": {"type": "string"}}},
                      read_only=True, destructive=False))
    return out


def _operation(value: Any, known: Mapping[str, Tool], router: str) -> Tool:
    if not isinstance(value, str):
        raise InvalidInput(f"{router}: operation must be a string naming one operation. Nothing was sent.")
    tool = known.get(value)
    if tool is None:
        allowed = ", ".join(t.name for t in known.values() if router == DESCRIBE or group(t) == router)
        raise InvalidInput(f"{router}: unknown operation {ascii(value[:80])}; allowed: {allowed}. Nothing was sent.")
    if router != DESCRIBE and group(tool) != router:
        raise InvalidInput(f"{router}: {tool.name} is not one of its operations; call {group(tool)} with operation "
                           f"{tool.name}. Nothing was sent.")
    return tool


def describe(table: list[Tool], policy: Policy, operation: Any = None) -> dict:
    known = {t.name: t for t in table}
    if operation is None:
        return {"operations": [{"operation": t.name, "tool": group(t), "title": t.title} for t in table]}
    tool = _operation(operation, known, DESCRIBE)
    return {"operation": tool.name, "tool": group(tool), "title": tool.title,
            "description": tool.description + " " + UNTRUSTED_NOTE, "arguments": tool.input_schema(policy)}


def run_router(name: str, arguments: dict | None, table: list[Tool], policy: Policy, env: Mapping[str, str],
               progress: Progress = _no_progress, *, cwd: str | None = None,
               transport: Any = None) -> tuple[dict, str, bool]:
    """(structured content, text, is_error) for one call of a compact tool; never raises."""
    try:
        args = dict(arguments or {})
        refuse_duplicate_keys(args)
        if name not in (*ROUTERS, DESCRIBE):
            raise InvalidInput(f"unknown tool {ascii(name[:80])}; the tools are {', '.join((*ROUTERS, DESCRIBE))}")
        allowed = ("operation",) if name == DESCRIBE else ("operation", "arguments")
        extra = sorted(str(k) for k in args if k not in allowed)
        if extra:
            raise InvalidInput(f"{name}: unknown argument(s) {', '.join(map(ascii, extra))}; allowed: "
                               f"{', '.join(allowed)}. Nothing was sent.")
        if name == DESCRIBE:
            doc = describe(table, policy, args.get("operation"))
            return doc, json.dumps(doc, ensure_ascii=False, indent=1), False
        if "operation" not in args:
            raise InvalidInput(f"{name}: missing required argument operation. Nothing was sent.")
        tool = _operation(args["operation"], {t.name: t for t in table}, name)
        inner = args.get("arguments", {})
        if not isinstance(inner, dict):
            raise InvalidInput(f"{name}: arguments must be an object ({_ARGS_HELP}). Nothing was sent.")
        return run_tool(tool, inner, env, progress, cwd=cwd, transport=transport)
    except DevinError as err:
        return error_result(err)
    except Exception as exc:  # a bug: its type only, never a traceback
        return error_result(DevinError(f"internal error in the devin MCP server ({type(exc).__name__})"))


def mode(manifest: str, env: Mapping[str, str]) -> str:
    """full or compact: DEVIN_PLUGIN_MCP_TOOLS wins over the manifest's ``--tools`` choice (which
    scripts/mcp_server.py has already checked, before the library could be imported)."""
    wanted = (env.get(ENV_MODE) or "").strip()
    if not wanted:
        return manifest
    if wanted not in MODES:
        shown = output.safe(wanted)[:40]
        hidden = " (with invisible or control characters)" if shown != wanted[:40] else ""
        raise InvalidInput(f"{ENV_MODE}={shown!r}{hidden} is not a tool surface; use full or compact")
    return wanted
