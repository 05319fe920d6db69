#!/usr/bin/env python3
"""Create a Devin session, deduplicated by title: an active session with the same title is returned instead.

The task text comes from --prompt-file PATH ('-' for standard input) or --prompt TEXT.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, formatting, limits, sessions


def build() -> cli.Parser:
    p = cli.parser("create_session.py", __doc__)
    cli.add_free_text(p, "prompt", "task")
    p.add_argument("--title", help="short title, the dedup key (default: the prompt's first 80 characters)")
    p.add_argument("--tag", action="append", help="tag (repeatable)")
    p.add_argument("--repo", action="append", metavar="OWNER/REPO", help="repository (repeatable)")
    p.add_argument("--max-acu", type=int, metavar="N", help="ACU cap for the session (positive integer)")
    p.add_argument("--playbook-id")
    p.add_argument("--knowledge-id", action="append", help="knowledge note id (repeatable)")
    p.add_argument("--secret-id", action="append", help="stored secret id (repeatable); never secret values")
    p.add_argument("--structured-output-schema", metavar="FILE", help="JSON Schema (Draft 7) file for the result")
    cli.add_payload_options(p)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--force-new", action="store_true",
                     help="create even when an active session has this title (skips dedup)")
    how.add_argument("--follow-up", action="store_true",
                     help="when an active session has this title and another task, send it this prompt as a message")
    p.add_argument("--dedup-days", type=float, default=7, metavar="N", help="dedup window in days (default 7)")
    return p


def main(inv: cli.Invocation) -> int:
    a = inv.args
    if not 0 < a.dedup_days <= limits.DEDUP_DAYS_MAX:
        raise cli.InvalidInput(f"--dedup-days must be more than 0 and at most {limits.DEDUP_DAYS_MAX}")
    prompt = inv.free_text("prompt")
    schema = (inv.json_file(a.structured_output_schema, "--structured-output-schema")
              if a.structured_output_schema else None)
    payload = inv.payload({
        "prompt": prompt, "title": a.title, "tags": a.tag, "repos": a.repo, "max_acu_limit": a.max_acu,
        "playbook_id": a.playbook_id, "knowledge_ids": a.knowledge_id, "secret_ids": a.secret_id,
        "attachment_urls": a.attachment_url, "structured_output_schema": schema})
    if "prompt" not in payload:
        raise cli.InvalidInput("no task given: use --prompt-file PATH, --prompt-file - (standard input) or --prompt")
    inv.settings()
    result = sessions.create_session(inv.client(120), inv.policy(), payload, force_new=a.force_new,
                                     follow_up=a.follow_up,
                                     dedup_days=a.dedup_days, settle_s=inv.dedup_settle_seconds(),
                                     dry_run=inv.dry_run, note=inv.note)
    inv.remember_created(result)  # `last` names it from now on
    head = ("Created Devin session " if result.get("is_new_session") else
            "Sent the prompt as a message to the active session with this title: " if result.get("followed_up") else
            "Found an active session with the same title and task (not created again): ")
    head += formatting.word(result.get("session_id"))
    return inv.emit_result(result, lambda: formatting.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
