"""The MCP SDK surface: list and call handlers, progress, the stdio loop, the host's credentials.

A host that keeps the token itself (Claude Code's sensitive ``userConfig``) hands it over as
DEVIN_PLUGIN_TOKEN / DEVIN_PLUGIN_ORG_ID; a value the host left unexpanded (``${...}``) or empty
counts as unset. The ``mcp`` SDK is imported only here, inside the functions that need it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .. import __version__, config, output
from ..errors import DevinError, InvalidInput
from .runner import UNTRUSTED_META_KEY, UNTRUSTED_NOTE, error_result, run_tool
from .tools import tools

SERVER_NAME = "devin"
# Host-managed credentials (e.g. Claude Code userConfig through .mcp.json) -> the variables config reads.
HOST_ENV = (("DEVIN_PLUGIN_TOKEN", "DEVIN_SERVICE_USER_TOKEN"), ("DEVIN_PLUGIN_ORG_ID", "DEVIN_ORG_ID"))


def effective_env(environ: Mapping[str, str] | None = None) -> dict:
    """os.environ, with host-managed credentials (when really set) taking the scripts' names."""
    env = dict(os.environ if environ is None else environ)
    for src, dst in HOST_ENV:
        value = (env.pop(src, None) or "").strip()
        if value and "${" not in value:
            env[dst] = value
            if dst == "DEVIN_SERVICE_USER_TOKEN":
                env.pop("DEVIN_TOKEN_FILE", None)
    return env


def build_server(environ: Mapping[str, str] | None = None) -> Any:
    import anyio
    import mcp_types as types
    from mcp.server import Server

    from .. import policy as policy_mod

    def table() -> tuple[dict, Any, dict]:
        env = effective_env(environ)
        policy = policy_mod.load(config.config_dir(env))
        return env, policy, {t.name: t for t in tools(policy)}

    async def list_tools(ctx: Any, params: Any) -> Any:
        _env, policy, by_name = table()
        return types.ListToolsResult(tools=[
            types.Tool(name=t.name, title=t.title, description=t.description + " " + UNTRUSTED_NOTE,
                       input_schema=t.input_schema(policy),
                       annotations=types.ToolAnnotations(title=t.title, read_only_hint=t.read_only,
                                                         destructive_hint=t.destructive,
                                                         idempotent_hint=t.idempotent, open_world_hint=True))
            for t in by_name.values()])

    async def call_tool(ctx: Any, params: Any) -> Any:
        try:
            env, _policy, by_name = table()
        except DevinError as err:
            return _result(types, *error_result(err))
        tool = by_name.get(params.name)
        if tool is None:
            return _result(types, *error_result(InvalidInput(f"unknown tool {ascii(params.name[:80])}")))

        def progress(done: float, total: float | None, message: str) -> None:
            try:
                anyio.from_thread.run(ctx.session.report_progress, float(done), total, output.safe(message))
            except Exception:  # progress is best effort; the call itself must not fail on it
                pass

        doc, text, is_error = await anyio.to_thread.run_sync(
            lambda: run_tool(tool, params.arguments, env, progress), abandon_on_cancel=True)
        return _result(types, doc, text, is_error)

    return Server(SERVER_NAME, version=__version__, title="Devin",
                  instructions="Delegate well-scoped tasks to Devin (Cognition) and follow them up. " + UNTRUSTED_NOTE
                  + " Terminate and deletes need the user's explicit confirmation first.",
                  on_list_tools=list_tools, on_call_tool=call_tool)


def _result(types: Any, doc: dict, text: str, is_error: bool) -> Any:
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=doc, is_error=is_error,
                                _meta={UNTRUSTED_META_KEY: not is_error})


def main() -> int:
    import anyio
    from mcp.server.stdio import stdio_server

    from .strict_stdin import StrictStdin, claim_stdin

    server = build_server()
    wire, restore = claim_stdin()

    async def serve() -> None:
        # Our own stdin layer (a tools/call naming a key twice is refused, strict_stdin.py); the SDK
        # skips its claim of fd 0 for a stream handed to it, so claim_stdin does that part.
        async with stdio_server(stdin=anyio.wrap_file(StrictStdin(wire))) as (read_stream, write_stream):
            await server.run(read_stream, write_stream, server.create_initialization_options())

    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        return 130
    finally:
        restore()
    return 0
