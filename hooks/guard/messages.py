"""What the agent is told when a rule blocks: one paragraph, by the rule's kind."""

from __future__ import annotations

PREFIX = "Blocked by the devin plugin guard: "

# {name} is what the rule found (only forbidden-field shows it); <plugin root> becomes the path.
ADVICE = {
    "api-host": "This command reaches the Devin API directly. Call Devin only through the plugin's "
                "scripts (python3 <plugin root>/scripts/NAME.py, e.g. create_session.py, "
                "get_session.py, list_sessions.py, send_message.py, check_setup.py), which confine "
                "calls to the configured organisation, refuse forbidden fields and never print the "
                "token; run the script that does what you need, with --dry-run to preview the request.",
    "forbidden-field": "This command carries the forbidden Devin API field {name!r} (in some "
                       "spelling). The plugin never sends it: impersonation is not allowed and "
                       "secrets go by id (create_session.py --secret-id ID), never inline. Remove "
                       "it. If you only meant to search code for it, use the Grep tool instead of "
                       "Bash; if it is part of the task text for Devin, rephrase it and pass the "
                       "text on standard input (--prompt-file - / --message-file - with a quoted "
                       "heredoc).",
    "env-dump": "This command would print environment variables or a process environment, which "
                "would expose the Devin token. Do not dump the environment; to check the Devin "
                "configuration run python3 <plugin root>/scripts/check_setup.py (it reports what is "
                "set without printing the token), or print one named, non-secret variable.",
    "token-var": "This command reads or passes the Devin token (DEVIN_SERVICE_USER_TOKEN, "
                 "DEVIN_TOKEN_FILE, the file it names or ~/.config/devin/token). Never print, copy "
                 "or send the token yourself: the plugin's scripts read it; run python3 <plugin root>/scripts/"
                 "check_setup.py to check it. If the token must change, ask the user to set it in "
                 "their own shell or token file (mode 0600), outside this conversation.",
    "token-literal": "This command contains what looks like a Devin token (cog_...). Never put a "
                     "token on a command line or in text sent to Devin; remove it. The plugin's "
                     "scripts read the token from DEVIN_SERVICE_USER_TOKEN or DEVIN_TOKEN_FILE, "
                     "which the user sets outside this conversation; tell the user a token may "
                     "have been exposed so they can revoke it.",
    "credentials-file": "This command touches Claude Code's credentials file, where the Devin token "
                        "given as a plugin option is kept. Never read, copy or print it; the plugin's "
                        "MCP server gets the token from Claude Code directly. To check the setup, run "
                        "python3 <plugin root>/scripts/check_setup.py or /devin:setup.",
}


def reason(kind: str, root: str, name: str = "") -> str:
    """The message for a block of this kind, with the plugin's root in its paths."""
    return PREFIX + ADVICE[kind].format(name=name).replace("<plugin root>", root)
