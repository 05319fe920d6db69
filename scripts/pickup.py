#!/usr/bin/env python3
"""Bring a Devin session's pull request into a new git worktree beside the current repository.

Run inside a clone of the PR's repository (one of its remotes must point to it). The PR head is
fetched from the repository's canonical URL into a mirror the plugin keeps under its state folder:
git never runs in your repository, whose configuration the agent can write. The mirror's worktree,
branch devin/pr-N, goes beside your repository (<repo>-devin-pr-N, or --dir NAME). A second pickup
updates that worktree (fast-forward only, never over local changes). Never pushes, never changes your
branch, index or files, never runs anything from the PR. Sends GET requests only to the API.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, pickup, sessions
from devin_plugin.output import fence


def build() -> cli.Parser:
    p = cli.parser("pickup.py", __doc__)
    cli.add_session_arg(p)
    p.add_argument("--pr", metavar="URL_OR_NUMBER", help="which pull request, when the session has several")
    p.add_argument("--dir", metavar="NAME", help="the worktree's folder name, beside the repository "
                   "(default <repo>-devin-pr-N)")
    return p


def show(doc: dict) -> str:
    """The pickup, with the PR's file names as untrusted data (a path can hold anything)."""
    verb = "Updated" if doc["updated"] else "Picked up"
    lines = [f"{verb} {doc['pr_url']} (session {doc['session_id']})",
             f"  worktree: {doc['worktree']}", f"  branch:   {doc['branch']} (remote {doc['remote']})",
             f"  head:     {doc['head']}", f"  files changed: {len(doc['files'])}"]
    rows = [f"{'-' if f['added'] is None else f['added']:>6} {'-' if f['deleted'] is None else f['deleted']:>6}  "
            f"{f['path']}" for f in doc["files"]]
    body = fence("  added deleted  path\n" + "\n".join(rows)) if rows else "  (no file differs from HEAD)"
    return "\n".join(lines) + "\n" + body + "\nReview it there; nothing from the PR was run."


def main(inv: cli.Invocation) -> int:
    a = inv.args
    sid = inv.session()
    if inv.dry_run:
        return inv.emit_result(sessions.get_session(inv.client(), sid, dry_run=True), lambda: "")
    session = sessions.get_session(inv.client(), sid)
    doc = pickup.pickup(session, wanted=a.pr, cwd=inv.cwd, env=inv.env, state_dir=inv.settings().state_dir,
                        directory=a.dir)
    return inv.emit(doc, lambda: show(doc))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
