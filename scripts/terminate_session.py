#!/usr/bin/env python3
"""Terminate a Devin session. Irreversible: the caller confirms with the user first; this script does not ask."""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, sessions


def build() -> cli.Parser:
    p = cli.parser("terminate_session.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--archive", action="store_true", help="also archive it")
    return p


def main(inv: cli.Invocation) -> int:
    sid = inv.session()
    result = sessions.terminate(inv.client(), sid, archive=inv.args.archive, dry_run=inv.dry_run)
    head = (f"Session {sid} had already ended; nothing was changed." if result.get("outcome") == "already_ended"
            else f"Session {sid} is terminated (status {formatting.word(result.get('status'))}).")
    return inv.emit_result(result, lambda: formatting.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
