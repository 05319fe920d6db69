#!/usr/bin/env python3
"""The plugin's always-loaded context: what every conversation pays before the plugin is used.

    .venv/bin/python benchmarks/context_size.py

Counted, as the host shows them to the model:
- the slash commands' names, descriptions and argument hints, and the skill's name and description;
- the MCP server: in Claude Code (2.1.330) its tools are deferred, so a conversation carries their
  names and the server's instructions, and a tool's schema only once the model asks for it
  (tests/client/test_e2e_claude_mcp.py pins that down); a host that does not defer tools carries the
  whole `tools/list` answer.

Tokens are estimated as characters / 4 (the usual figure for English and JSON; no tokenizer is
shipped offline). The figure to compare with the issue's 2,000-token budget is the Claude Code one.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from devin_plugin import policy as policy_mod  # noqa: E402
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
                           "inputSchema": t.input_schema(policy)} for t in table])
    n_commands = len(list((ROOT / "commands").glob("*.md")))
    rows = [(f"slash commands ({n_commands})", commands), ("skill", skill), ("MCP tool names (deferred)", names),
            ("MCP server instructions", instructions)]
    claude = sum(len(text) for _, text in rows)
    print("| part | characters | tokens (chars/4) |")
    print("|---|---:|---:|")
    for label, text in rows:
        print(f"| {label} | {len(text):,} | {len(text) // 4:,} |")
    print(f"| **Claude Code, always loaded** | {claude:,} | **{claude // 4:,}** |")
    print(f"| a host that loads every MCP schema ({len(table)} tools) | {len(listing):,} | {len(listing) // 4:,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
