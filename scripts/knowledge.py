#!/usr/bin/env python3
"""The organization's knowledge notes: list, get, create, update, delete, folders.

Note text is user-authored: it is shown as untrusted data. Bodies come from --body-file PATH
('-' for standard input) or --body TEXT. Delete is irreversible: the caller confirms first.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, resources, routes

KIND = resources.NOTE


def build() -> cli.Parser:
    p, sub, common = cli.verb_parser("knowledge.py", __doc__)
    ls = sub.add_parser("list", parents=[common], help="list notes")
    cli.add_limit(ls, 100, limits.RESOURCE_LIST_MAX, "notes")
    ls.add_argument("--folder-path", metavar="PATH", help="only notes in this folder (the API's folder_path)")
    ls.add_argument("--search", help="text to search for")
    ls.add_argument("--pinned-repo", metavar="OWNER/REPO", help="only notes pinned to this repository")
    g = sub.add_parser("get", parents=[common], help="show one note")
    g.add_argument("note_id")
    for verb in ("create", "update"):
        w = sub.add_parser(verb, parents=[common], help=f"{verb} a note")
        if verb == "update":
            w.add_argument("note_id")
        w.add_argument("--name")
        w.add_argument("--trigger", help="when Devin should use this note")
        cli.add_free_text(w, "body", "body")
        w.add_argument("--pinned-repo", metavar="OWNER/REPO")
        w.add_argument("--folder-id")
    d = sub.add_parser("delete", parents=[common], help="delete a note (irreversible)")
    d.add_argument("note_id")
    sub.add_parser("folders", parents=[common], help="list knowledge folders")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    client = inv.client()
    if a.verb == "list":
        cli.check_limit(a.limit, limits.RESOURCE_LIST_MAX)
        params = resources.note_filters(folder_path=a.folder_path, search=a.search, pinned_repo=a.pinned_repo)
        page = resources.list_items(client, routes.NOTES, limit=a.limit, params=params, action="knowledge_list",
                                    dry_run=inv.dry_run)
        return inv.emit_result(page, lambda: formatting.show_items("item(s)", page["items"],
                                                                   ("note_id", "folder_path", "name")))
    if a.verb == "folders":
        tree = resources.list_folders(client, dry_run=inv.dry_run)
        return inv.emit_result(tree, lambda: formatting.show_items("folder(s)", tree["folders"],
                                                                   ("folder_id", "path", "note_count"))
                               + f"\nnotes outside any folder: {formatting.word(tree.get('root_note_count'))}")
    if a.verb == "get":
        note = resources.get(client, KIND, a.note_id, dry_run=inv.dry_run)
        return inv.emit_result(note, lambda: formatting.show_object(f"Knowledge note {a.note_id}", note))
    if a.verb == "delete":
        result = resources.delete_item(client, KIND, a.note_id, dry_run=inv.dry_run)
        return inv.emit_result(result, lambda: f"Knowledge note {a.note_id} deleted.")
    fields = {"name": a.name, "trigger": a.trigger, "body": inv.free_text("body"), "pinned_repo": a.pinned_repo,
              "folder_id": a.folder_id}
    if a.verb == "create":
        result = resources.create(client, inv.policy(), KIND, fields, dry_run=inv.dry_run)
    else:
        result = resources.update(client, inv.policy(), KIND, a.note_id, fields, dry_run=inv.dry_run)
    return inv.emit_result(result, lambda: formatting.show_object(f"Knowledge note {a.verb}d.", result))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
