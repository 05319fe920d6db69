#!/usr/bin/env python3
"""The plugin's always-loaded context: what every conversation pays before the plugin is used.

    .venv/bin/python benchmarks/context_size.py

Counted, as the host shows them to the model:
- the slash commands' names, descriptions and argument hints, and the skill's name and description;
- the MCP server: in Claude Code (2.1.330) its tools are deferred, so a conversation carries their
  names and the server's instructions, and a tool's schema only once the model asks for it
  (tests/client/test_e2e_claude_mcp.py pins that down); a host that does not defer tools carries the
  whole `tools/list` answer. The Gemini and Agent Plugins manifests start the server with
  `--tools compact` (four broad tools, lib/devin_plugin/mcp_server/compact.py) for those hosts;
  the per-operation listing is shown too, for a Claude Code with tool search turned off.

Tokens are estimated as characters / 4 (the usual figure for English and JSON; no tokenizer is
shipped offline). The budget is 2,000 tokens for each host's always-loaded total; the compact row
counts everything at once (commands, skill and the four schemas), more than any host loads.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from devin_plugin import policy as policy_mod  # noqa: E402
from devin_plugin.mcp_server import compact  # noqa: E402
from devin_plugin.mcp_server.runner import UNTRUSTED_NOTE  # noqa: E402
from devin_plugin.mcp_server.tools import tools  # noqa: E402

FRONT = re.compile(r"^---\n(.*?)\n---\n", re.S)


def front_matter(path: Path, keys: tuple[str, ...]) -> str:
    m = FRONT.match(path.read_text(encoding="utf-8"))
    lines = (m.group(1) if m else "").splitlines()
    return "\n".join(x for x in lines if x.split(":", 1)[0].strip() in keys)


def main() -> int:
    commands = "\n".join(f"/devin:{p.stem} " + front_matter(p, ("description", "argument-hint"))
                         for p in sorted((ROOT / "commands").glob("*.md")))
    skill = front_matter(ROOT / "skills" / "devin-delegation" / "SKILL.md", ("name", "description"))
    policy = policy_mod.load(Path("/nonexistent-user-policy"))
    table = tools(policy)
    names = "\n".join("mcp__plugin_devin_devin__" + t.name for t in table)
    instructions = ("Delegate well-scoped tasks to Devin (Cognition) and follow them up. " + UNTRUSTED_NOTE
                    + " Terminate and deletes need the user's explicit confirmation first.")
    listing = json.dumps([{"name": t.name, "title": t.title, "description": t.description + " " + UNTRUSTED_NOTE,
                           "inputSchema": t.input_schema(policy), "annotations": t.annotations()} for t in table])
    small = json.dumps([{"name": r.name, "title": r.title, "description": r.description,
                         "inputSchema": r.input_schema, "annotations": r.annotations()}
                        for r in compact.routers(table)])
    n_commands = len(list((ROOT / "commands").glob("*.md")))
    rows = [(f"slash commands ({n_commands})", commands), ("skill", skill), ("MCP tool names (deferred)", names),
            ("MCP server instructions", instructions)]
    claude = sum(len(text) for _, text in rows)
    every = len(commands) + len(skill) + len(instructions) + len(small)
    print("| part | characters | tokens (chars/4) |")
    print("|---|---:|---:|")
    for label, text in rows:
        print(f"| {label} | {len(text):,} | {len(text) // 4:,} |")
    print(f"| **Claude Code, always loaded** | {claude:,} | **{claude // 4:,}** |")
    print(f"| compact MCP tools, whole `tools/list` ({len(compact.routers(table))} tools) | {len(small):,} | "
          f"{len(small) // 4:,} |")
    print(f"| **a host that loads every schema: commands, skill, instructions and the compact tools** | {every:,} | "
          f"**{every // 4:,}** |")
    print(f"| per-operation MCP tools, whole `tools/list` ({len(table)} tools; Claude Code without tool search) | "
          f"{len(listing):,} | {len(listing) // 4:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
