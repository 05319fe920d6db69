"""RBAC permission names used by the Devin API (see docs/devin-api.md)."""

VIEW_ORG_SESSIONS = "ViewOrgSessions"
MANAGE_ORG_SESSIONS = "ManageOrgSessions"
USE_DEVIN_SESSIONS = "UseDevinSessions"
USE_DEVIN_EXPERT = "UseDevinExpert"
IMPERSONATE_ORG_SESSIONS = "ImpersonateOrgSessions"
VIEW_ACCOUNT_SESSIONS = "ViewAccountSessions"
MANAGE_ACCOUNT_SESSIONS = "ManageAccountSessions"
# Playbooks and knowledge need the Account-level permissions, reads included (official v3 reference).
MANAGE_ACCOUNT_PLAYBOOKS = "ManageAccountPlaybooks"
MANAGE_ACCOUNT_KNOWLEDGE = "ManageAccountKnowledge"
READ_ACCOUNT_META = "ReadAccountMeta"
MANAGE_ORG_SECRETS = "ManageOrgSecrets"

ALL_PERMISSIONS = frozenset(
    {
        VIEW_ORG_SESSIONS,
        MANAGE_ORG_SESSIONS,
        USE_DEVIN_SESSIONS,
        USE_DEVIN_EXPERT,
        IMPERSONATE_ORG_SESSIONS,
        VIEW_ACCOUNT_SESSIONS,
        MANAGE_ACCOUNT_SESSIONS,
        MANAGE_ACCOUNT_PLAYBOOKS,
        MANAGE_ACCOUNT_KNOWLEDGE,
        READ_ACCOUNT_META,
        MANAGE_ORG_SECRETS,
    }
)

# A typical least-privilege set for this project's session scripts.
SESSION_PERMISSIONS = frozenset({VIEW_ORG_SESSIONS, MANAGE_ORG_SESSIONS, USE_DEVIN_SESSIONS})
