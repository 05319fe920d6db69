#!/usr/bin/env python3
"""List, add, remove or replace a Devin session's tags. With no option: list them."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, sessions


def build() -> cli.Parser:
    p = cli.parser("update_tags.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--add", action="append", default=[], metavar="TAG", help="add a tag (repeatable)")
    p.add_argument("--remove", action="append", default=[], metavar="TAG", help="remove a tag (repeatable)")
    p.add_argument("--set", action="append", metavar="TAG",
                   help="replace all tags with these (repeatable); the dedup tags are kept")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    sid = inv.session()
    changing = bool(a.add or a.remove or a.set is not None)
    result = sessions.update_tags(inv.client(), inv.policy() if changing else None, sid, add=a.add,
                                  remove=a.remove, replace=a.set, dry_run=inv.dry_run)
    head = f"Tags of {sid}" + (" now:" if changing else ":")
    return inv.emit_result(result, lambda: head + "\n" + output.fence(", ".join(map(str, result["tags"]))
                                                                      or "(none)"))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
