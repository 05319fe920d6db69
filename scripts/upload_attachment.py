#!/usr/bin/env python3
"""Upload a file for Devin and print the URL to pass as --attachment-url.

Only regular files under the working directory (symlinks that lead out are refused), at most
100 MiB unless the user's policy file lowers it, uploaded under the file's own base name.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, resources as res


def build():
    p = cli.parser("upload_attachment.py", __doc__)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--allow-outside-cwd", action="store_true",
                   help="allow a file outside the working directory (symlinks out of it stay refused)")
    return p


def main(args, json_mode):
    settings = cli.settings(args)
    policy = cli.load_policy(settings)
    spec = res.open_upload(args.file, max_bytes=policy.limit("upload_max_bytes"),
                           allow_outside_cwd=args.allow_outside_cwd)
    with spec[1]:
        result = res.upload(cli.client(settings, deadline_s=600), spec, dry_run=args.dry_run)
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    cli.emit(result, json_mode, lambda: f"Uploaded {spec[0]} ({spec[2]} bytes). Pass it on with:\n"
             f"  --attachment-url {result['url']}")


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
