#!/usr/bin/env python3
"""The organization's playbooks: list, get, create, update, delete.

Playbook text is user-authored: it is shown as untrusted data. Bodies come from --body-file PATH
('-' for standard input) or --body TEXT. Delete is irreversible: the caller confirms first.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, resources as res


def build():
    p, sub, common = cli.verb_parser("playbooks.py", __doc__)
    ls = sub.add_parser("list", parents=[common], help="list playbooks")
    ls.add_argument("--limit", type=int, default=100)
    g = sub.add_parser("get", parents=[common], help="show one playbook")
    g.add_argument("playbook_id")
    for verb in ("create", "update"):
        w = sub.add_parser(verb, parents=[common], help=f"{verb} a playbook")
        if verb == "update":
            w.add_argument("playbook_id")
        w.add_argument("--title")
        w.add_argument("--body-file", metavar="PATH", help="the body, from a file or '-' for standard input")
        w.add_argument("--body", metavar="TEXT")
        w.add_argument("--macro", help="e.g. !deploy")
    d = sub.add_parser("delete", parents=[common], help="delete a playbook (irreversible)")
    d.add_argument("playbook_id")
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    client = cli.client(settings)
    if args.verb == "list":
        if not 0 < args.limit <= 1000:
            raise cli.InvalidInput("--limit must be between 1 and 1000")
        if args.dry_run:
            return cli.dry_run_request(client, json_mode,
                                       "GET", res.PLAYBOOKS, params={"first": min(args.limit, 200)})
        page = res.list_items(client, res.PLAYBOOKS, limit=args.limit, action="list_playbooks")
        return cli.emit(page, json_mode, lambda: cli.show_items("playbook(s)", page["items"],
                                                                ("playbook_id", "macro", "title")))
    if args.verb == "get":
        if args.dry_run:
            return cli.dry_run_request(client, json_mode, "GET", res.PLAYBOOK, path={"playbook_id": args.playbook_id})
        pb = res.get_playbook(client, args.playbook_id)
        return cli.emit(pb, json_mode, lambda: cli.show_object(f"Playbook {args.playbook_id}", pb))
    if args.verb == "delete":
        result = res.delete(client, res.PLAYBOOK, {"playbook_id": args.playbook_id}, action="delete_playbook",
                            dry_run=args.dry_run)
        if args.dry_run:
            return cli.emit_dry_run(result, json_mode)
        return cli.emit(result, json_mode, lambda: f"Playbook {args.playbook_id} deleted.")
    body = cli.free_text(args.body, args.body_file, "body")
    fields = {"title": args.title, "body": body, "macro": args.macro}
    policy = cli.load_policy(settings)
    if args.verb == "create":
        payload = {k: v for k, v in fields.items() if v is not None}
        result = res.write(client, policy, "playbook_write", "POST", res.PLAYBOOKS, payload,
                           action="create_playbook", dry_run=args.dry_run)
    else:
        current = {} if args.dry_run else res.get_playbook(client, args.playbook_id)
        payload = {k: current.get(k) for k in ("title", "body", "macro") if current.get(k) is not None}
        payload.update({k: v for k, v in fields.items() if v is not None})
        result = res.write(client, policy, "playbook_write", "PUT", res.PLAYBOOK, payload,
                           path={"playbook_id": args.playbook_id}, action="update_playbook", dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    cli.emit(result, json_mode, lambda: cli.show_object(f"Playbook {args.verb}d.", result))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
