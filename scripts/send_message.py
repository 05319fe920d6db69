#!/usr/bin/env python3
"""Send a follow-up message to a Devin session (wakes a suspended session).

The text comes from --message-file PATH ('-' for standard input) or --message TEXT.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, sessions


def build():
    p = cli.parser("send_message.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--message-file", metavar="PATH", help="the message, from a file or '-' for standard input")
    p.add_argument("--message", metavar="TEXT", help="the message as one argument (prefer --message-file -)")
    p.add_argument("--attachment-url", action="append", metavar="URL", help="from upload_attachment.py (repeatable)")
    p.add_argument("--field", action="append", metavar="KEY=JSON", help="any other allowed field (repeatable)")
    p.add_argument("--payload-file", metavar="FILE", help="JSON object of fields, merged under the options")
    return p


def main(args, json_mode):
    text = cli.free_text(args.message, args.message_file, "message")
    payload = cli.build_payload(args, {"message": text, "attachment_urls": args.attachment_url})
    if "message" not in payload:
        raise cli.InvalidInput("no message given: use --message-file PATH, --message-file - or --message")
    settings = cli.settings(args)
    sid = cli.session_id(args, settings)
    policy = cli.load_policy(settings)
    client = cli.client(settings)
    result = sessions.send_message(client, policy, sid, payload, dry_run=args.dry_run,
                                   note=lambda m: output.note("devin: " + m))
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    cli.emit(result, json_mode, lambda: cli.show_session(result, f"Message sent to {sid}."))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
