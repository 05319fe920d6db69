"""The resident MCP server: one tool per operation of the contract, over the same core, in process.

Three parts, one job each:
- ``tools``: the tool table (names, schemas, annotations, headlines) and each tool's body, a thin
  call into the library operations the scripts call;
- ``runner``: one call, transport-free: split the arguments into tool options and payload fields
  (the payload goes to the policy), check the options, run the body, clean and fence the result;
- ``server``: the MCP SDK surface (list/call handlers, progress, the stdio loop) and the host's
  credential hand-over. The ``mcp`` SDK is imported there only, when the server is built.
"""

from __future__ import annotations

from .runner import UNTRUSTED_META_KEY, UNTRUSTED_NOTE, Call, run_tool
from .server import HOST_ENV, SERVER_NAME, build_server, effective_env, main
from .tools import Tool, tools, upload_base_dir

__all__ = ["Call", "HOST_ENV", "SERVER_NAME", "Tool", "UNTRUSTED_META_KEY", "UNTRUSTED_NOTE", "build_server",
           "effective_env", "main", "run_tool", "tools", "upload_base_dir"]
