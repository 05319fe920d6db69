#!/usr/bin/env python3
"""The organization's secrets: list metadata, or delete one. Values can never be created or read here.

Secret values would pass through the agent's context, so this script has no create and never
prints a value; sessions use stored secrets by id (create_session.py --secret-id).
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, resources as res


def build():
    p, sub, common = cli.verb_parser("secrets.py", __doc__)
    ls = sub.add_parser("list", parents=[common], help="list secret metadata (never values)")
    ls.add_argument("--limit", type=int, default=200)
    d = sub.add_parser("delete", parents=[common], help="delete a secret (irreversible)")
    d.add_argument("secret_id")
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    client = cli.client(settings)
    if args.verb == "list":
        if not 0 < args.limit <= res.SECRET_SCAN_MAX:
            raise cli.InvalidInput(f"--limit must be between 1 and {res.SECRET_SCAN_MAX}")
        if args.dry_run:
            return cli.dry_run_request(client, json_mode, "GET", res.SECRETS, params={"first": min(args.limit, 200)})
        page = res.list_items(client, res.SECRETS, limit=args.limit, action="list_secrets")
        return cli.emit(page, json_mode, lambda: cli.show_items("secret(s) (metadata only)", page["items"],
                                                                ("secret_id", "key", "secret_type", "note")))
    result = res.delete_secret(client, args.secret_id, dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    cli.emit(result, json_mode, lambda: f"Secret {args.secret_id} deleted.")


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
