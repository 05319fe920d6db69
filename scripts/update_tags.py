#!/usr/bin/env python3
"""List, add, remove or replace a Devin session's tags. With no option: list them."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, sessions


def build():
    p = cli.parser("update_tags.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--add", action="append", default=[], metavar="TAG", help="add a tag (repeatable)")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    p.add_argument("--set", action="append", metavar="TAG", help="replace all tags with these (repeatable)")
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    client = cli.client(settings)
    changing = bool(args.add or args.remove or args.set is not None)
    policy = cli.load_policy(settings) if changing else None
    if args.dry_run and not changing:
        return cli.dry_run_request(client, json_mode, "GET", sessions.SESSION + "/tags", path={"devin_id": sid})
    result = sessions.update_tags(client, policy, sid, add=args.add, remove=args.remove, replace=args.set,
                                  dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    head = f"Tags of {sid}" + (" now:" if changing else ":")
    cli.emit(result, json_mode, lambda: head + "\n" + output.fence(", ".join(map(str, result["tags"])) or "(none)"))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
