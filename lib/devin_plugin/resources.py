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


# -- listing and reading ------------------------------------------------------------------------

def list_items(client, template: str, *, limit: int, params: dict | None = None, action: str = "") -> dict:
    from .sessions import iter_pages
    page = iter_pages(client, template, dict(params or {}), max_items=limit, action=action)
    page.pop("dropped_foreign", None)
    return page


def get_playbook(client, playbook_id: str) -> dict:
    return client.call("GET", PLAYBOOK, path={"playbook_id": ids.check_resource_id(playbook_id, "playbook id")},
                       action="get_playbook").data


def get_note(client, note_id: str) -> dict:
    return client.call("GET", NOTE, path={"note_id": ids.check_resource_id(note_id, "note id")},
                       action="get_note").data


# -- writing ------------------------------------------------------------------------------------

def write(client, policy, endpoint: str, method: str, template: str, payload: dict, *, path=None,
          action: str, dry_run: bool) -> dict:
    """Create (POST) or replace (PUT) a playbook or note; the policy checks the whole body."""
    policy.check(endpoint, payload)
    req = client.build(method, template, path=path, body=payload, action=action, safe_to_repeat=method == "PUT")
    if dry_run:
        return {"dry_run": True, "request": req.describe()}
    data = client.send(req).data
    return data if isinstance(data, dict) else {}


def delete(client, template: str, path: dict, *, action: str, dry_run: bool) -> dict:
    req = client.build("DELETE", template, path=path, action=action)
    if dry_run:
        return {"dry_run": True, "request": req.describe()}
    client.send(req)
    return {"deleted": True, **path}


def delete_secret(client, secret_id: str, *, dry_run: bool) -> dict:
    """Upstream answers 403 for an already-deleted secret: look it up before blaming permissions."""
    from .errors import AuthError
    ids.check_resource_id(secret_id, "secret id")
    try:
        return delete(client, SECRET, {"secret_id": secret_id}, action="delete_secret", dry_run=dry_run)
    except AuthError as err:
        if err.http_status != 403:
            raise
        try:
            known = secret_ids(client)
        except AuthError:
            raise err from None
        if secret_id not in known:
            raise NotFound(f"secret {secret_id} is gone or never existed in organization "
                           f"{client.settings.org_id} (the API answers 403 for a secret that is already "
                           "deleted)", http_status=403) from None
        raise AuthError(f"permission refused (403) deleting secret {secret_id}: this needs ManageOrgSecrets in "
                        f"organization {client.settings.org_id}", http_status=403) from None


# -- attachments --------------------------------------------------------------------------------

def open_upload(path: str, *, max_bytes: int, allow_outside_cwd: bool = False, cwd: str | None = None):
    """Open a regular file under the working directory; returns (name, file, size, content type).

    Symlinks are resolved and refused if they lead out of the working directory; directories,
    devices and FIFOs are refused; the size is checked before anything is read.
    """
    import mimetypes
    import os
    import stat
    base = os.path.realpath(cwd or os.getcwd())
    given = os.path.abspath(os.path.join(base, path))
    real = os.path.realpath(given)
    inside = real == base or real.startswith(base + os.sep)
    if given != real and not inside:
        raise InvalidInput(f"{path!r} is a symlink (or under one) that leads out of the working directory; "
                           "refused")
    if not inside and not allow_outside_cwd:
        raise InvalidInput(f"{path!r} is outside the working directory; pass --allow-outside-cwd to upload it")
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidInput(f"cannot open {path!r} ({exc.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise InvalidInput(f"{path!r} is not a regular file (directories, devices and FIFOs are refused)")
    if st.st_size > max_bytes:
        os.close(fd)
        raise InvalidInput(f"{path!r} is {st.st_size} bytes; the upload limit is {max_bytes} bytes")
    name = os.path.basename(real)
    if not name or not name.isprintable() or len(name) > 255:
        os.close(fd)
        raise InvalidInput("the file name has unprintable characters or is too long")
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, os.fdopen(fd, "rb"), st.st_size, ctype


def upload(client, upload_spec, *, dry_run: bool) -> dict:
    req = client.build("POST", ATTACHMENTS, files=upload_spec, action="upload_attachment", safe_to_repeat=False)
    if dry_run:
        return {"dry_run": True, "request": req.describe()}
    data = client.send(req).data
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not data["url"].startswith("https://"):
        from .errors import ApiError
        raise ApiError("the API answered the upload without an https url")
    return data
