#!/usr/bin/env python3
"""The devin MCP server over stdio: one tool per operation, on the same hardened core as the scripts.

Run by the coding assistant (Claude Code's .mcp.json, the Agent Plugins mcp.json, Gemini's
gemini-extension.json), not by hand. Its tools need the optional MCP extra in the plugin's environment:
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
if len(sys.argv) > 1:
    sys.stderr.write("devin: invalid_input: mcp_server.py takes no arguments (see --help)\n")
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

sys.exit(mcp_server.main())
