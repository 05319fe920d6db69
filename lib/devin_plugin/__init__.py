"""Hardened client library behind the Devin plugin's scripts, hook and MCP server.

Kept import-free on purpose: scripts import only the modules they need, so a read-only
call never pays for jsonschema or yaml.
"""

__version__ = "0.5.0"
