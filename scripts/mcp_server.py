#!/usr/bin/env python3
"""The devin MCP server over stdio, on the same hardened core as the scripts.

Run by the coding assistant (Claude Code's .mcp.json, the Agent Plugins mcp.json, Gemini's
gemini-extension.json), not by hand.

    mcp_server.py [--tools full|compact]

full (the default, Claude Code's): one tool per operation; Claude Code defers them, so a conversation
carries only their names. compact (the Gemini and Agent Plugins manifests'): four broad tools,
devin_read, devin_change, devin_confirmed and devin_describe, for hosts that load every tool's schema
into every conversation. DEVIN_PLUGIN_MCP_TOOLS=full|compact overrides the manifest's choice.

Its tools need the optional MCP extra in the plugin's environment:
python3 scripts/setup_env.py --with-mcp. Until then it still connects, with no tools and instructions
that say what to run (so a fresh install never shows a failed server). Credentials as for the scripts
(DEVIN_SERVICE_USER_TOKEN or DEVIN_TOKEN_FILE, DEVIN_ORG_ID), or DEVIN_PLUGIN_TOKEN /
DEVIN_PLUGIN_ORG_ID handed over by the host.
"""

import importlib.util
import os
import sys

# _prelude's path set-up, without its exit when the environment is missing: that case is served below.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.join(_HERE, os.pardir, "lib"))

from devin_plugin import __version__, boot  # noqa: E402  (both standard library only)

if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
    print(__doc__.strip())
    sys.exit(0)
if sys.argv[1:] not in ([], ["--tools", "full"], ["--tools", "compact"]):
    sys.stderr.write("devin: invalid_input: mcp_server.py takes only --tools full (one tool per operation, the "
                     "default) or --tools compact (four broad tools, for hosts that load every schema); see --help\n")
    sys.exit(2)

SETUP = f"python3 {os.path.join(os.path.dirname(_HERE), 'scripts', 'setup_env.py')} --with-mcp"
if not boot.ensure_environment(exit_if_missing=False):
    reason = ("The Devin plugin is not set up yet, so this server has no tools. In Claude Code run /devin:setup "
              f"(the slash commands and the skill need nothing more); for these MCP tools also run: {SETUP}; "
              "then restart the client.")
elif importlib.util.find_spec("mcp") is None:
    reason = ("The Devin MCP tools are optional and not installed, so this server has no tools. The /devin: "
              f"commands and the skill work without them. To add them run: {SETUP}; then restart the client.")
else:
    reason = ""
if reason:
    sys.stderr.write(f"devin: config: {reason}\n")  # for the host's log; the client gets it as instructions
    from devin_plugin import mcp_inert

    sys.exit(mcp_inert.serve(reason, __version__, sys.stdin.buffer, sys.stdout.buffer))

from devin_plugin import mcp_server  # noqa: E402
from devin_plugin.errors import DevinError  # noqa: E402
from devin_plugin.mcp_server import compact  # noqa: E402

try:
    SURFACE = compact.mode(sys.argv[2] if len(sys.argv) > 2 else "full", os.environ)
except DevinError as err:
    sys.stderr.write(f"devin: config: {err}\n")
    sys.exit(3)
sys.exit(mcp_server.main(SURFACE))
