#!/usr/bin/env python3
"""The devin MCP server over stdio: one tool per operation, on the same hardened core as the scripts.

Run by the coding assistant (Claude Code's .mcp.json, the Agent Plugins mcp.json, Gemini's
gemini-extension.json), not by hand. Needs the optional MCP extra in the plugin's environment:
python3 scripts/setup_env.py --with-mcp. Credentials as for the scripts (DEVIN_SERVICE_USER_TOKEN or
DEVIN_TOKEN_FILE, DEVIN_ORG_ID), or DEVIN_PLUGIN_TOKEN / DEVIN_PLUGIN_ORG_ID handed over by the host.
"""

import importlib.util
import sys

import _prelude  # noqa: F401  (finds lib/ and the plugin's environment)

if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
    print(__doc__.strip())
    sys.exit(0)
if len(sys.argv) > 1:
    sys.stderr.write("devin: invalid_input: mcp_server.py takes no arguments (see --help)\n")
    sys.exit(2)
if importlib.util.find_spec("mcp") is None:
    sys.stderr.write("devin: config: the MCP server needs the optional MCP extra; run: python3 "
                     "scripts/setup_env.py --with-mcp (in Claude Code: /devin:setup, then ask for the MCP extra)\n")
    sys.exit(3)

from devin_plugin import mcp_server  # noqa: E402

sys.exit(mcp_server.main())
