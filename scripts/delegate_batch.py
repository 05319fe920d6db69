#!/usr/bin/env python3
"""Start a batch of Devin tasks, at most --max-active running at once, never one task twice.

FILE is YAML or JSON: `batch` (a name), optional `defaults` (create fields) and `tasks` (each with
`title` and `prompt` plus any create field). Without --yes it prints the plan (each task: new, running,
done; the ACU caps, their total and the cost notes) and sends no write. With --yes it starts new tasks
until --max-active of the batch's sessions are running (starting, working or waiting for the user), tags
each with batch-<name>, and stops. Run the same command again to continue.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import batch as batch_mod
from devin_plugin import cli
from devin_plugin.output import fence


def build() -> cli.Parser:
    p = cli.parser("delegate_batch.py", __doc__)
    p.add_argument("file", metavar="FILE", help="the batch file (YAML or JSON; '-' for standard input)")
    p.add_argument("--max-active", type=int, default=3, metavar="N", help="most sessions running at once (3)")
    p.add_argument("--budget-acu", type=float, metavar="N", help="refuse the batch if the tasks' caps add up to more")
    p.add_argument("--yes", action="store_true", help="start tasks (without it: only the plan, no write)")
    return p


def show(doc: dict) -> str:
    head = (f"Batch {doc['batch']} (tag {doc['tag']}): " + ", ".join(f"{n} {s}" for s, n in doc["counts"].items())
            + f"; at most {doc['max_active']} running at once.")
    caps = f"ACU caps add up to {doc['total_max_acu']:g}" + (f" (budget {doc['budget_acu']:g})"
                                                              if doc["budget_acu"] is not None else "")
    rows = [f"{i['state']:<8} {str(i.get('max_acu_limit') or '-'):>6}  {i.get('session_id') or '':<38} {i['title']}"
            for i in doc["items"]]
    parts = [head, caps + "."] + [f"Note: {n}" for n in doc["cost_notes"]]
    parts.append(fence("state       cap  session                                title\n" + "\n".join(rows)))
    parts.append("Sent: sessions were started as shown." if doc["sent"] else
                 "Nothing was sent. Run again with --yes to start the new tasks.")
    return "\n".join(parts)


def main(inv: cli.Invocation) -> int:
    a = inv.args
    if not 1 <= a.max_active <= 100:
        raise cli.InvalidInput(f"--max-active {a.max_active}: allowed is 1 to 100")
    if a.budget_acu is not None and not 0 < a.budget_acu < 1e9:
        raise cli.InvalidInput(f"--budget-acu {a.budget_acu:g}: allowed is a positive number")
    document = batch_mod.load_text(inv.read_text(a.file, "FILE"), "FILE")
    doc = batch_mod.perform(inv, document, budget=a.budget_acu, max_active=a.max_active, start=bool(a.yes))
    if doc.get("dry_run"):
        return inv.emit_result(doc, lambda: "")
    return inv.emit(doc, lambda: show(doc))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
