"""Option limits shared by the scripts and the MCP server, so both doors accept the same ranges."""

from __future__ import annotations

PAGE_MAX = 200                 # the API's largest `first`
CURSOR_MAX = 2048              # longest page cursor accepted from the API or a user
SESSIONS_LIST_MAX = 10_000     # list_sessions --limit / --all
MESSAGES_LIST_MAX = 5_000      # list_messages --limit, and the most one call reads
RESOURCE_LIST_MAX = 1_000      # playbooks and knowledge notes
SECRETS_LIST_MAX = 5_000       # secret metadata (also the scan behind a secret-id check)
WAIT_SCRIPT_MAX_S = 86_400     # wait_session.py --timeout
WAIT_TOOL_MAX_S = 3_600        # one MCP call: a chat turn should not block for a day
WAIT_INTERVAL_MAX_S = 3_600
DEDUP_DAYS_MAX = 365
SEARCH_MAX_CHARS = 200


def check_range(value: float, low: float, high: float, option: str, *, low_inclusive: bool = True) -> float:
    """Refuse a number outside [low, high] (or (low, high]) naming the option as the user typed it."""
    from .errors import InvalidInput
    ok = (low <= value if low_inclusive else low < value) and value <= high
    if not ok:
        lower = f"at least {low:g}" if low_inclusive else f"more than {low:g}"
        raise InvalidInput(f"{option} must be {lower} and at most {high:g}")
    return value
