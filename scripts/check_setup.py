#!/usr/bin/env python3
"""Check the plugin's configuration, token, permissions and what protects the token. Read-only:
GET requests only.

Prints what is missing and how to fix it, including which of the README's sandbox settings are not in
place. When DEVIN_ORG_ID is missing or names another organization than the token's, it says which
organization the token belongs to (GET /v3/self) and the exact setting to change. Exit 0 when ready,
3 for configuration problems (a missing or wrong DEVIN_ORG_ID included), 4 when the API refuses the
token or it cannot read the org's sessions.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, output, setup_check


def build() -> cli.Parser:
    return cli.parser("check_setup.py", __doc__)


def main(inv: cli.Invocation) -> int:
    doc, exit_code = setup_check.run(inv.env, dry_run=inv.args.dry_run, transport=inv.transport)
    if inv.json:
        output.emit_json(doc)
    else:
        output.emit_text(setup_check.as_text(doc))
    return exit_code


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
