#!/usr/bin/env python3
"""Send a follow-up message to a Devin session (wakes a suspended session).

The text comes from --message-file PATH ('-' for standard input) or --message TEXT.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, sessions


def build() -> cli.Parser:
    p = cli.parser("send_message.py", __doc__)
    cli.add_session_arg(p)
    cli.add_free_text(p, "message", "message")
    cli.add_payload_options(p)
    p.add_argument("--unarchive", action="store_true",
                   help="unarchive an archived session first (an archived session takes a message but is not woken)")
    return p


def main(inv: cli.Invocation) -> int:
    text = inv.free_text("message")
    payload = inv.payload({"message": text, "attachment_urls": inv.args.attachment_url})
    if "message" not in payload:
        raise cli.InvalidInput("no message given: use --message-file PATH, --message-file - or --message")
    sid = inv.session()
    result = sessions.send_message(inv.client(), inv.policy(), sid, payload, dry_run=inv.dry_run,
                                   unarchive=inv.args.unarchive, note=inv.note)
    return inv.emit_result(result, lambda: formatting.show_session(result, f"Message sent to {sid}."))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
