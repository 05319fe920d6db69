#!/usr/bin/env python3
"""The organization's playbooks: list, get, create, update, delete.

Playbook text is user-authored: it is shown as untrusted data. Bodies come from --body-file PATH
('-' for standard input) or --body TEXT. Delete is irreversible: the caller confirms first.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, resources, routes

KIND = resources.PLAYBOOK


def build() -> cli.Parser:
    p, sub, common = cli.verb_parser("playbooks.py", __doc__)
    ls = sub.add_parser("list", parents=[common], help="list playbooks")
    cli.add_limit(ls, 100, limits.RESOURCE_LIST_MAX, "playbooks")
    g = sub.add_parser("get", parents=[common], help="show one playbook")
    g.add_argument("playbook_id")
    for verb in ("create", "update"):
        w = sub.add_parser(verb, parents=[common], help=f"{verb} a playbook")
        if verb == "update":
            w.add_argument("playbook_id")
        w.add_argument("--title")
        cli.add_free_text(w, "body", "body")
        w.add_argument("--macro", help="e.g. !deploy")
    d = sub.add_parser("delete", parents=[common], help="delete a playbook (irreversible)")
    d.add_argument("playbook_id")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    client = inv.client()
    if a.verb == "list":
        cli.check_limit(a.limit, limits.RESOURCE_LIST_MAX)
        page = resources.list_items(client, routes.PLAYBOOKS, limit=a.limit, action="list_playbooks",
                                    dry_run=inv.dry_run)
        return inv.emit_result(page, lambda: formatting.show_items("playbook(s)", page["items"],
                                                                   ("playbook_id", "macro", "title")))
    if a.verb == "get":
        pb = resources.get(client, KIND, a.playbook_id, dry_run=inv.dry_run)
        return inv.emit_result(pb, lambda: formatting.show_object(f"Playbook {a.playbook_id}", pb))
    if a.verb == "delete":
        result = resources.delete_item(client, KIND, a.playbook_id, dry_run=inv.dry_run)
        return inv.emit_result(result, lambda: f"Playbook {a.playbook_id} deleted.")
    fields = {"title": a.title, "body": inv.free_text("body"), "macro": a.macro}
    if a.verb == "create":
        result = resources.create(client, inv.policy(), KIND, fields, dry_run=inv.dry_run)
    else:
        result = resources.update(client, inv.policy(), KIND, a.playbook_id, fields, dry_run=inv.dry_run)
    return inv.emit_result(result, lambda: formatting.show_object(f"Playbook {a.verb}d.", result))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
