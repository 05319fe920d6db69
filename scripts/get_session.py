#!/usr/bin/env python3
"""Show one Devin session. Read-only: sends GET requests only."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, sessions


def build() -> cli.Parser:
    p = cli.parser("get_session.py", __doc__)
    cli.add_session_arg(p)
    return p


def main(inv: cli.Invocation) -> int:
    sid = inv.session()
    session = sessions.get_session(inv.client(), sid, dry_run=inv.dry_run)
    return inv.emit_result(session, lambda: formatting.show_session(session, f"Devin session {sid}"))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
