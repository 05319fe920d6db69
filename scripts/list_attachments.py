#!/usr/bin/env python3
"""List a Devin session's attachments (the files Devin produced, and the user's). Read-only.

--download DIR saves each file under DIR (which must exist) with a sanitised name, never
overwriting a file: the API redirects each download once to a presigned URL on another host,
which is fetched without the token, https only, at most 100 MiB per file.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, downloads, formatting, localfiles, output, sessions


def build() -> cli.Parser:
    p = cli.parser("list_attachments.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--download", metavar="DIR", help="save every attachment under this existing directory")
    return p


def main(inv: cli.Invocation) -> int:
    sid = inv.session()
    target = None
    if inv.args.download is not None:  # checked before any request
        target = localfiles.check(inv.args.download, cwd=inv.cwd, env=inv.env, what="--download",
                                  allow_outside_cwd=True, writing=True)
    client = inv.client(600 if inv.args.download else 60)
    result = sessions.list_attachments(client, sid, dry_run=inv.dry_run)
    if target is not None and not inv.dry_run:
        result["downloads"] = downloads.save(client, result["items"], target)
    if inv.dry_run:
        return inv.emit_dry_run(result)
    failed = [d for d in result.get("downloads", []) if d.get("error")]
    for d in failed:
        inv.note(f"could not download {formatting.word(d['attachment_id'])}: {d['error']}")
    inv.emit(result, lambda: _text(result, sid))
    return 8 if failed else 0


def _text(result: dict, sid: str) -> str:
    text = formatting.show_items(f"attachment(s) of {sid}", result["items"], ("attachment_id", "source", "name"))
    saved = [d for d in result.get("downloads", []) if d.get("saved")]
    if saved:
        text += "\n" + output.fence("\n".join(f"saved {d['saved']} ({d['bytes']} bytes)" for d in saved))
    return text


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
