#!/usr/bin/env python3
"""Create a Devin session, deduplicated by title: an active session with the same title is returned instead.

The task text comes from --prompt-file PATH ('-' for standard input) or --prompt TEXT.
"""

import sys

import _prelude  # noqa: F401
from devin_plugin import cli, config, output, sessions


def build():
    p = cli.parser("create_session.py", __doc__)
    p.add_argument("--prompt-file", metavar="PATH", help="the task, from a file or '-' for standard input")
    p.add_argument("--prompt", metavar="TEXT", help="the task as one argument (prefer --prompt-file -)")
    p.add_argument("--title", help="short title, the dedup key (default: the prompt's first 80 characters)")
    p.add_argument("--tag", action="append", help="tag (repeatable)")
    p.add_argument("--repo", action="append", metavar="OWNER/REPO", help="repository (repeatable)")
    p.add_argument("--max-acu", type=int, metavar="N", help="ACU cap for the session (positive integer)")
    p.add_argument("--playbook-id")
    p.add_argument("--knowledge-id", action="append", help="knowledge note id (repeatable)")
    p.add_argument("--secret-id", action="append", help="stored secret id (repeatable); never secret values")
    p.add_argument("--attachment-url", action="append", metavar="URL", help="from upload_attachment.py (repeatable)")
    p.add_argument("--structured-output-schema", metavar="FILE", help="JSON Schema (Draft 7) file for the result")
    p.add_argument("--field", action="append", metavar="KEY=JSON", help="any other allowed field (repeatable)")
    p.add_argument("--payload-file", metavar="FILE", help="JSON object of fields, merged under the options")
    p.add_argument("--force-new", action="store_true", help="skip dedup and always create")
    p.add_argument("--dedup-days", type=float, default=7, metavar="N", help="dedup window in days (default 7)")
    return p


def main(args, json_mode):
    if not 0 < args.dedup_days <= 365:
        raise cli.InvalidInput("--dedup-days must be more than 0 and at most 365")
    prompt = cli.free_text(args.prompt, args.prompt_file, "prompt")
    schema = None
    if args.structured_output_schema:
        schema = cli.strict_json(cli.read_text(args.structured_output_schema, "--structured-output-schema"),
                                 "--structured-output-schema")
    payload = cli.build_payload(args, {
        "prompt": prompt, "title": args.title, "tags": args.tag, "repos": args.repo,
        "max_acu_limit": args.max_acu, "playbook_id": args.playbook_id, "knowledge_ids": args.knowledge_id,
        "secret_ids": args.secret_id, "attachment_urls": args.attachment_url,
        "structured_output_schema": schema})
    if "prompt" not in payload:
        raise cli.InvalidInput("no task given: use --prompt-file PATH, --prompt-file - (standard input) or --prompt")
    settings = cli.settings(args)
    policy = cli.load_policy(settings)
    client = cli.client(settings, deadline_s=120)
    result = sessions.create_session(client, policy, payload, force_new=args.force_new,
                                     dedup_days=args.dedup_days, settle_s=config.dedup_settle_seconds(),
                                     dry_run=args.dry_run,
                                     note=lambda m: output.note("devin: " + m))
    if args.dry_run:
        return cli.emit_dry_run(result, json_mode)
    head = ("Created Devin session " if result["is_new_session"] else
            "Found an active session with the same title (not created again): ") + str(result.get("session_id"))
    cli.emit(result, json_mode, lambda: cli.show_session(result, head))


if __name__ == "__main__":
    sys.exit(cli.run(main, build))
