#!/usr/bin/env python3
"""Upload a file for Devin and print the URL to pass as --attachment-url.

Only regular files under the working directory (symlinks that lead out are refused; inside Claude
Code --allow-outside-cwd is refused too), never from the folders that hold credentials or the plugin's
configuration and code, at most 100 MiB unless the user's policy file lowers it, uploaded under the
file's own base name.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, resources


def build() -> cli.Parser:
    p = cli.parser("upload_attachment.py", __doc__)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--allow-outside-cwd", action="store_true",
                   help="allow a file outside the working directory (symlinks out of it stay refused)")
    return p


def main(inv: cli.Invocation) -> int:
    inv.settings()
    spec = resources.open_upload(inv.args.file, max_bytes=inv.policy().limit("upload_max_bytes"),
                                 allow_outside_cwd=inv.args.allow_outside_cwd, cwd=inv.cwd,
                                 secrets=tuple(t for t in [inv.settings().token] if t), env=inv.env)
    with spec[1]:
        result = resources.upload(inv.client(600), spec, dry_run=inv.dry_run)
    return inv.emit_result(result, lambda: f"Uploaded {spec[0]} ({spec[2]} bytes). Pass it on with:\n"
                                           f"  --attachment-url {formatting.word(result['url'], 2083)}")


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
