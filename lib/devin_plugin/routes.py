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
SESSION_UNARCHIVE = SESSION + "/unarchive"
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
ATTACHMENT_FILE = ORG + "/attachments/{attachment_id}/{file_name}"

# Which permission each call needs, so a 403 can say so: the names of the official v3 API reference
# (schemas/devin-api/v3-facts.json). Playbooks and knowledge need the Account-level permissions even
# to read; an upload needs UseDevinSessions.
PERMISSIONS: dict[tuple[str, str], str] = {
    ("GET", SESSIONS): "ViewOrgSessions",
    ("GET", SESSION): "ViewOrgSessions",
    ("GET", SESSION_MESSAGES): "ViewOrgSessions",
    ("GET", SESSION_TAGS): "ViewOrgSessions",
    ("GET", SESSION_ATTACHMENTS): "ViewOrgSessions",
    ("POST", SESSIONS): "ManageOrgSessions",
    ("DELETE", SESSION): "ManageOrgSessions",
    ("POST", SESSION_ARCHIVE): "ManageOrgSessions",
    ("POST", SESSION_UNARCHIVE): "ManageOrgSessions",
    ("GET", ATTACHMENT_FILE): "ViewOrgSessions",
    ("GET", SELF): "ReadAccountMeta",
    ("POST", SESSION_MESSAGES): "ManageOrgSessions",
    ("POST", SESSION_TAGS): "ManageOrgSessions",
    ("PUT", SESSION_TAGS): "ManageOrgSessions",
    ("GET", ENT_SESSIONS): "ViewAccountSessions (v3beta1: ManageAccountSessions)",
    ("GET", ENT_SESSION): "ViewAccountSessions",
    ("GET", ENT_SESSION_MESSAGES): "ViewAccountSessions",
    ("POST", ENT_SESSION_MESSAGES): "ManageAccountSessions",
    ("GET", PLAYBOOKS): "ManageAccountPlaybooks",
    ("GET", PLAYBOOK): "ManageAccountPlaybooks",
    ("POST", PLAYBOOKS): "ManageAccountPlaybooks",
    ("PUT", PLAYBOOK): "ManageAccountPlaybooks",
    ("DELETE", PLAYBOOK): "ManageAccountPlaybooks",
    ("GET", NOTES): "ManageAccountKnowledge",
    ("GET", NOTE): "ManageAccountKnowledge (its reference page says ManageKnowledge)",
    ("GET", FOLDERS): "ManageAccountKnowledge (its reference page says ManageKnowledge)",
    ("POST", NOTES): "ManageAccountKnowledge",
    ("PUT", NOTE): "ManageAccountKnowledge",
    ("DELETE", NOTE): "ManageAccountKnowledge",
    ("GET", SECRETS): "ManageOrgSecrets",
    ("DELETE", SECRET): "ManageOrgSecrets",
    ("POST", ATTACHMENTS): "UseDevinSessions",
}


def permission(method: str, template: str) -> str:
    return PERMISSIONS.get((method, template), "a permission this token lacks")
