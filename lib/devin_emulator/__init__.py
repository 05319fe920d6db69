"""A faithful local fake of the Devin API, for tests and demos (standard library only).

    from devin_emulator import Emulator
    with Emulator() as emu:
        ...  # talk HTTP to emu.url with "Authorization: Bearer " + emu.token

See docs/emulator.md.  Production code never imports this package.
"""

from .clock import DEFAULT_EPOCH, ManualClock, RealClock
from .faults import FAULT_KINDS
from .http_util import Headers
from .model import BILLING_REASONS, DEFAULT_ORG_ID, STATUSES
from .permissions import (
    ALL_PERMISSIONS,
    IMPERSONATE_ORG_SESSIONS,
    MANAGE_ACCOUNT_SESSIONS,
    MANAGE_ACCOUNT_KNOWLEDGE,
    MANAGE_ACCOUNT_PLAYBOOKS,
    MANAGE_ORG_SECRETS,
    MANAGE_ORG_SESSIONS,
    SESSION_PERMISSIONS,
    USE_DEVIN_EXPERT,
    USE_DEVIN_SESSIONS,
    VIEW_ACCOUNT_SESSIONS,
    READ_ACCOUNT_META,
    VIEW_ORG_SESSIONS,
)
from .server import Emulator, JournalEntry

__all__ = [
    "Emulator", "JournalEntry", "ManualClock", "RealClock", "Headers", "DEFAULT_EPOCH",
    "DEFAULT_ORG_ID", "FAULT_KINDS", "STATUSES", "BILLING_REASONS",
    "ALL_PERMISSIONS", "SESSION_PERMISSIONS", "VIEW_ORG_SESSIONS", "MANAGE_ORG_SESSIONS",
    "USE_DEVIN_SESSIONS", "USE_DEVIN_EXPERT", "IMPERSONATE_ORG_SESSIONS", "VIEW_ACCOUNT_SESSIONS",
    "MANAGE_ACCOUNT_SESSIONS", "MANAGE_ACCOUNT_PLAYBOOKS", "MANAGE_ACCOUNT_KNOWLEDGE", "READ_ACCOUNT_META",
    "MANAGE_ORG_SECRETS",
]
