"""Organization resources: playbooks, knowledge notes, secret metadata, attachments."""

from __future__ import annotations

from . import ids
from .errors import InvalidInput, NotFound

ORG = "/organizations/{org_id}"
PLAYBOOKS = ORG + "/playbooks"
PLAYBOOK = PLAYBOOKS + "/{playbook_id}"
NOTES = ORG + "/knowledge/notes"
NOTE = NOTES + "/{note_id}"
FOLDERS = ORG + "/knowledge/folders"
SECRETS = ORG + "/secrets"
SECRET = SECRETS + "/{secret_id}"
ATTACHMENTS = ORG + "/attachments"
SECRET_SCAN_MAX = 5000


def secret_ids(client, max_items: int = SECRET_SCAN_MAX) -> set[str]:
    """Secrets have no GET by id: page through the metadata list."""
    from .sessions import iter_pages
    page = iter_pages(client, SECRETS, {}, max_items=max_items, action="list_secrets")
    return {s.get("secret_id") for s in page["items"] if isinstance(s, dict)}


def check_ids_exist(client, payload: dict, dry_run: bool) -> None:
    """One read per id (the secret list once), before a paid session starts."""
    wanted = []
    if payload.get("playbook_id"):
        wanted.append(("playbook", PLAYBOOK, "playbook_id", payload["playbook_id"]))
    if payload.get("child_playbook_id"):
        wanted.append(("playbook", PLAYBOOK, "playbook_id", payload["child_playbook_id"]))
    for note_id in payload.get("knowledge_ids") or []:
        wanted.append(("knowledge note", NOTE, "note_id", note_id))
    secrets = list(payload.get("secret_ids") or [])
    for _, _, _, value in wanted:
        ids.check_resource_id(value)
    for value in secrets:
        ids.check_resource_id(value, "secret id")
    if dry_run:
        return
    for what, template, param, value in dict.fromkeys(wanted):
        try:
            client.call("GET", template, path={param: value}, action="check_ids")
        except NotFound:
            raise InvalidInput(f"{what} {value!r} does not exist in organization {client.settings.org_id}; "
                               "no session was created") from None
    if secrets:
        known = secret_ids(client)
        missing = [s for s in dict.fromkeys(secrets) if s not in known]
        if missing:
            raise InvalidInput(f"secret id(s) {', '.join(map(repr, missing))} do not exist in organization "
                               f"{client.settings.org_id}; no session was created")
