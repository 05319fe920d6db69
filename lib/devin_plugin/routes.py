"""Every route template the plugin calls, once, and the permission each one needs.

Templates are relative to the API version prefix (/v3, /v3beta1, /v1); `{org_id}` is filled by the
Client from the configured organization, every other placeholder from a checked id.
"""

from __future__ import annotations

ORG = "/organizations/{org_id}"
SELF = "/self"

SESSIONS = ORG + "/sessions"
SESSION = SESSIONS + "/{devin_id}"
SESSION_MESSAGES = SESSION + "/messages"
SESSION_TAGS = SESSION + "/tags"
SESSION_ARCHIVE = SESSION + "/archive"
SESSION_ATTACHMENTS = SESSION + "/attachments"
ENT_SESSIONS = "/enterprise/sessions"
ENT_SESSION = ENT_SESSIONS + "/{devin_id}"
ENT_SESSION_MESSAGES = ENT_SESSION + "/messages"
V1_TAGS = "/sessions/{session_id}/tags"

PLAYBOOKS = ORG + "/playbooks"
PLAYBOOK = PLAYBOOKS + "/{playbook_id}"
NOTES = ORG + "/knowledge/notes"
NOTE = NOTES + "/{note_id}"
FOLDERS = ORG + "/knowledge/folders"
SECRETS = ORG + "/secrets"
SECRET = SECRETS + "/{secret_id}"
ATTACHMENTS = ORG + "/attachments"

# Which permission each call needs, so a 403 can say so (devin-api.md, Permissions).
PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", SESSIONS): "ViewOrgSessions",
    ("GET", SESSION): "ViewOrgSessions",
    ("GET", SESSION_MESSAGES): "ViewOrgSessions",
    ("GET", SESSION_TAGS): "ViewOrgSessions",
    ("GET", SESSION_ATTACHMENTS): "ViewOrgSessions",
    ("POST", SESSIONS): "ManageOrgSessions (some deployments: UseDevinSessions)",
    ("DELETE", SESSION): "ManageOrgSessions",
    ("POST", SESSION_ARCHIVE): "ManageOrgSessions",
    ("POST", SESSION_MESSAGES): "ManageOrgSessions",
    ("POST", SESSION_TAGS): "ManageOrgSessions",
    ("PUT", SESSION_TAGS): "ManageOrgSessions",
    ("GET", ENT_SESSIONS): "ViewAccountSessions (v3beta1: ManageAccountSessions)",
    ("GET", ENT_SESSION): "ViewAccountSessions",
    ("GET", ENT_SESSION_MESSAGES): "ViewAccountSessions",
    ("POST", ENT_SESSION_MESSAGES): "ManageAccountSessions",
    ("GET", PLAYBOOKS): "ViewOrgPlaybooks",
    ("GET", PLAYBOOK): "ViewOrgPlaybooks",
    ("POST", PLAYBOOKS): "ManageOrgPlaybooks",
    ("PUT", PLAYBOOK): "ManageOrgPlaybooks",
    ("DELETE", PLAYBOOK): "ManageOrgPlaybooks",
    ("GET", NOTES): "ViewOrgKnowledge",
    ("GET", NOTE): "ViewOrgKnowledge",
    ("GET", FOLDERS): "ViewOrgKnowledge",
    ("POST", NOTES): "ManageOrgKnowledge",
    ("PUT", NOTE): "ManageOrgKnowledge",
    ("DELETE", NOTE): "ManageOrgKnowledge",
    ("GET", SECRETS): "ManageOrgSecrets",
    ("DELETE", SECRET): "ManageOrgSecrets",
    ("POST", ATTACHMENTS): "ManageOrgSessions",
}


def permission(method: str, template: str) -> str:
    return PERMISSIONS.get((method, template), "a permission this token lacks")
