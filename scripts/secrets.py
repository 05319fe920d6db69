#!/usr/bin/env python3
"""The organization's secrets: list metadata, or delete one. Values can never be created or read here.

Secret values would pass through the agent's context, so this script has no create and never
prints a value; sessions use stored secrets by id (create_session.py --secret-id).
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, resources, routes


def build() -> cli.Parser:
    p, sub, common = cli.verb_parser("secrets.py", __doc__)
    ls = sub.add_parser("list", parents=[common], help="list secret metadata (never values)")
    cli.add_limit(ls, 200, limits.SECRETS_LIST_MAX, "secrets")
    d = sub.add_parser("delete", parents=[common], help="delete a secret (irreversible)")
    d.add_argument("secret_id")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    client = inv.client()
    if a.verb == "list":
        cli.check_limit(a.limit, limits.SECRETS_LIST_MAX)
        page = resources.list_items(client, routes.SECRETS, limit=a.limit, action="list_secrets", dry_run=inv.dry_run)
        return inv.emit_result(page, lambda: formatting.show_items("secret(s) (metadata only)", page["items"],
                                                                   ("secret_id", "key", "secret_type", "note")))
    result = resources.delete_secret(client, a.secret_id, dry_run=inv.dry_run)
    return inv.emit_result(result, lambda: f"Secret {a.secret_id} deleted.")


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
