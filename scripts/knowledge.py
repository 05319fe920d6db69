#!/usr/bin/env python3
"""The organization's knowledge notes: list, get, create, update, delete, folders.

Note text is user-authored: it is shown as untrusted data. Bodies come from --body-file PATH
('-' for standard input) or --body TEXT. Delete is irreversible: the caller confirms first.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, resources as res


def build():
    p, sub, common = cli.verb_parser("knowledge.py", __doc__)
    ls = sub.add_parser("list", parents=[common], help="list notes")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--folder-id")
    ls.add_argument("--search", help="text to search for")
    g = sub.add_parser("get", parents=[common], help="show one note")
    g.add_argument("note_id")
    for verb in ("create", "update"):
        w = sub.add_parser(verb, parents=[common], help=f"{verb} a note")
        if verb == "update":
            w.add_argument("note_id")
        w.add_argument("--name")
        w.add_argument("--trigger", help="when Devin should use this note")
        w.add_argument("--body-file", metavar="PATH", help="the body, from a file or '-' for standard input")
        w.add_argument("--body", metavar="TEXT")
        w.add_argument("--pinned-repo", metavar="OWNER/REPO")
        w.add_argument("--folder-id")
    d = sub.add_parser("delete", parents=[common], help="delete a note (irreversible)")
    d.add_argument("note_id")
    sub.add_parser("folders", parents=[common], help="list knowledge folders")
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    client = cli.client(settings)
    if args.verb in ("list", "folders"):
        params, template, limit = {}, res.FOLDERS, 1000
        if args.verb == "list":
            if not 0 < args.limit <= 1000:
                raise cli.InvalidInput("--limit must be between 1 and 1000")
            template, limit = res.NOTES, args.limit
            if args.folder_id:
                params["folder_id"] = cli.check_id(args.folder_id, "folder id")
            if args.search:
                if len(args.search) > 200 or not args.search.isprintable():
                    raise cli.InvalidInput("--search must be at most 200 printable characters")
                params["search"] = args.search
        if args.dry_run:
            return cli.dry_run_request(client, json_mode,
                                       "GET", template, params={**params, "first": min(limit, 200)})
        page = res.list_items(client, template, limit=limit, params=params, action=f"knowledge_{args.verb}")
        fields = ("note_id", "folder_path", "name") if args.verb == "list" else ("folder_id", "path", "name")
        return cli.emit(page, json_mode, lambda: cli.show_items("item(s)", page["items"], fields))
    if args.verb == "get":
        if args.dry_run:
            return cli.dry_run_request(client, json_mode, "GET", res.NOTE, path={"note_id": args.note_id})
        note = res.get_note(client, args.note_id)
        return cli.emit(note, json_mode, lambda: cli.show_object(f"Knowledge note {args.note_id}", note))
    if args.verb == "delete":
        result = res.delete(client, res.NOTE, {"note_id": args.note_id}, action="delete_note", dry_run=args.dry_run)
        if args.dry_run:
            return cli.emit_dry_run(result, json_mode)
        return cli.emit(result, json_mode, lambda: f"Knowledge note {args.note_id} deleted.")
    body = cli.free_text(args.body, args.body_file, "body")
    fields = {"name": args.name, "trigger": args.trigger, "body": body, "pinned_repo": args.pinned_repo,
              "folder_id": args.folder_id}
    policy = cli.load_policy(settings)
    keys = ("name", "body", "trigger", "pinned_repo", "folder_id", "is_enabled")
    if args.verb == "create":
        payload = {k: v for k, v in fields.items() if v is not None}
        result = res.write(client, policy, "note_write", "POST", res.NOTES, payload, action="create_note",
                           dry_run=args.dry_run)
    else:
        current = {} if args.dry_run else res.get_note(client, args.note_id)
        payload = {k: current.get(k) for k in keys if current.get(k) is not None}
        payload.update({k: v for k, v in fields.items() if v is not None})
        result = res.write(client, policy, "note_write", "PUT", res.NOTE, payload, path={"note_id": args.note_id},
                           action="update_note", dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    cli.emit(result, json_mode, lambda: cli.show_object(f"Knowledge note {args.verb}d.", result))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
