#!/usr/bin/env python3
"""Unarchive a Devin session (it can then take messages and be woken again)."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, sessions


def build() -> cli.Parser:
    p = cli.parser("unarchive_session.py", __doc__)
    cli.add_session_arg(p)
    return p


def main(inv: cli.Invocation) -> int:
    sid = inv.session()
    result = sessions.unarchive_session(inv.client(), sid, dry_run=inv.dry_run)
    head = (f"Session {sid} was not archived; nothing was changed." if result.get("outcome") == "not_archived"
            else f"Session {sid} is unarchived.")
    return inv.emit_result(result, lambda: formatting.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
