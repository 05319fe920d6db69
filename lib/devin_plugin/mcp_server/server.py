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
from . import compact
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


def build_server(environ: Mapping[str, str] | None = None, surface: str = "full") -> Any:
    """The server; ``surface`` is ``full`` (one tool per operation) or ``compact`` (compact.py)."""
    import anyio
    import mcp_types as types
    from mcp.server import Server

    from .. import policy as policy_mod

    def table() -> tuple[dict, Any, dict]:
        env = effective_env(environ)
        policy = policy_mod.load(config.config_dir(env))
        return env, policy, {t.name: t for t in tools(policy)}

    def listed(name: str, title: str, description: str, schema: dict, ann: dict) -> Any:
        return types.Tool(name=name, title=title, description=description, input_schema=schema,
                          annotations=types.ToolAnnotations(title=title, read_only_hint=ann["readOnlyHint"],
                                                            destructive_hint=ann["destructiveHint"],
                                                            idempotent_hint=ann["idempotentHint"],
                                                            open_world_hint=ann["openWorldHint"]))

    async def list_tools(ctx: Any, params: Any) -> Any:
        _env, policy, by_name = table()
        if surface == "compact":
            return types.ListToolsResult(tools=[
                listed(r.name, r.title, r.description, r.input_schema, r.annotations())
                for r in compact.routers(list(by_name.values()))])
        return types.ListToolsResult(tools=[
            listed(t.name, t.title, t.description + " " + UNTRUSTED_NOTE, t.input_schema(policy), t.annotations())
            for t in by_name.values()])

    async def call_tool(ctx: Any, params: Any) -> Any:
        try:
            env, policy, by_name = table()
        except DevinError as err:
            return _result(types, *error_result(err))

        def progress(done: float, total: float | None, message: str) -> None:
            try:
                anyio.from_thread.run(ctx.session.report_progress, float(done), total, output.safe(message))
            except Exception:  # progress is best effort; the call itself must not fail on it
                pass

        if surface == "compact":
            doc, text, is_error = await anyio.to_thread.run_sync(
                lambda: compact.run_router(params.name, params.arguments, list(by_name.values()), policy, env,
                                           progress), abandon_on_cancel=True)
            return _result(types, doc, text, is_error)
        tool = by_name.get(params.name)
        if tool is None:
            return _result(types, *error_result(InvalidInput(f"unknown tool {ascii(params.name[:80])}")))
        doc, text, is_error = await anyio.to_thread.run_sync(
            lambda: run_tool(tool, params.arguments, env, progress), abandon_on_cancel=True)
        return _result(types, doc, text, is_error)

    return Server(SERVER_NAME, version=__version__, title="Devin",
                  instructions="Delegate well-scoped tasks to Devin (Cognition) and follow them up. " + UNTRUSTED_NOTE
                  + " Terminate and deletes need the user's explicit confirmation first.",
                  on_list_tools=list_tools, on_call_tool=call_tool)


def _result(types: Any, doc: dict, text: str, is_error: bool) -> Any:
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=doc, is_error=is_error,
                                _meta={UNTRUSTED_META_KEY: not is_error or "untrusted_notice" in doc})


def main(surface: str = "full") -> int:
    """Serve over stdio; ``surface`` as compact.mode chose it (scripts/mcp_server.py)."""
    import anyio
    from mcp.server.stdio import stdio_server

    from .strict_stdin import StrictStdin, claim_stdin

    server = build_server(surface=surface)
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
