"""Organization resources: playbooks, knowledge notes, secret metadata, attachments.

Each operation builds its request once; with dry_run it returns that request's preview.
Updates are read-modify-write (the API's PUT replaces the whole object), once, here, for the
scripts and the MCP server alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Callable, Mapping
from typing import IO, TYPE_CHECKING, Any

from . import ids, limits, routes
from .errors import ApiError, AuthError, InvalidInput, NotFound
from .limits import SECRETS_LIST_MAX
from .paging import collect, first_page

if TYPE_CHECKING:
    from .http import Client
    from .policy import Policy

UploadSpec = tuple[str, IO[bytes], int, str]  # (name, open file, size, content type)


@dataclass(frozen=True)
class Kind:
    """A writable resource: its policy endpoint, routes, id parameter and the fields a PUT carries."""
    name: str
    endpoint: str
    collection: str
    item: str
    key: str
    fields: tuple[str, ...]

    @property
    def words(self) -> str:
        return self.key.replace("_", " ")


PLAYBOOK = Kind("playbook", "playbook_write", routes.PLAYBOOKS, routes.PLAYBOOK, "playbook_id",
                ("title", "body", "macro", "structured_output_schema"))
NOTE = Kind("note", "note_write", routes.NOTES, routes.NOTE, "note_id",
            ("name", "body", "trigger", "pinned_repo", "folder_id", "is_enabled"))
KINDS = {"playbook": PLAYBOOK, "note": NOTE}


# -- listing and reading ------------------------------------------------------------------------

def list_items(client: Client, template: str, *, limit: int, params: dict | None = None, action: str = "",
               dry_run: bool = False) -> dict:
    req = first_page(client, "GET", template, params=params, max_items=limit, action=action)
    if dry_run:
        return req.preview()
    page = collect(client, req, max_items=limit)
    page.pop("dropped_foreign", None)
    return page


def note_filters(*, folder_path: str | None = None, search: str | None = None,
                 pinned_repo: str | None = None, names: dict | None = None) -> dict:
    """The knowledge list's server-side filters (the API has folder_path, not folder_id); refusals name
    the option as the caller spelled it (`names`: filter -> option)."""
    names = {"folder_path": "--folder-path", "search": "--search", "pinned_repo": "--pinned-repo", **(names or {})}
    params: dict = {}
    for key, value in (("folder_path", folder_path), ("search", search), ("pinned_repo", pinned_repo)):
        if value is None or value == "":
            continue
        if len(value) > limits.SEARCH_MAX_CHARS or not value.isprintable():
            raise InvalidInput(f"{names[key]} must be at most {limits.SEARCH_MAX_CHARS} printable characters")
        params[key] = value
    return params


def list_folders(client: Client, *, dry_run: bool = False) -> dict:
    """GET /knowledge/folders answers the whole tree at once: {folders: [...], root_note_count}."""
    req = client.build("GET", routes.FOLDERS, action="knowledge_folders")
    if dry_run:
        return req.preview()
    data = client.send(req).data
    if not isinstance(data, dict) or not isinstance(data.get("folders"), list):
        raise ApiError("the API answered the folders call without a folders list")
    return {"folders": [f for f in data["folders"] if isinstance(f, dict)],
            "root_note_count": data.get("root_note_count")}


def secret_ids(client: Client, max_items: int = SECRETS_LIST_MAX) -> set[str]:
    """Secrets have no GET by id: page through the metadata list."""
    page = list_items(client, routes.SECRETS, limit=max_items, action="list_secrets")
    return {s["secret_id"] for s in page["items"] if isinstance(s, dict) and isinstance(s.get("secret_id"), str)}


def get(client: Client, kind: Kind, item_id: str, *, dry_run: bool = False) -> dict:
    req = client.build("GET", kind.item, path={kind.key: ids.check_resource_id(item_id, kind.words)},
                       action=f"get_{kind.name}")
    if dry_run:
        return req.preview()
    data = client.send(req).data
    return data if isinstance(data, dict) else {}


def get_playbook(client: Client, playbook_id: str, *, dry_run: bool = False) -> dict:
    return get(client, PLAYBOOK, playbook_id, dry_run=dry_run)


def get_note(client: Client, note_id: str, *, dry_run: bool = False) -> dict:
    return get(client, NOTE, note_id, dry_run=dry_run)


def check_ids_exist(client: Client, payload: dict, dry_run: bool, note: Callable[[str], None] | None = None) -> None:
    """One read per id (the secret list once), before a paid session starts. A 404 refuses the create;
    a 403 (the token may not read playbooks, notes or secrets, yet may create) skips that check with a
    warning: the API itself would accept the create."""
    say = note or (lambda message: None)
    wanted = []
    if payload.get("playbook_id"):
        wanted.append(("playbook", routes.PLAYBOOK, "playbook_id", payload["playbook_id"]))
    if payload.get("child_playbook_id"):
        wanted.append(("playbook", routes.PLAYBOOK, "playbook_id", payload["child_playbook_id"]))
    for note_id in payload.get("knowledge_ids") or []:
        wanted.append(("knowledge note", routes.NOTE, "note_id", note_id))
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
        except AuthError as err:
            if err.http_status != 403:
                raise
            say(f"warning: this token may not read {what}s ({routes.permission('GET', template)}), so "
                f"{what} {value!r} was not checked before the create")
    if secrets:
        try:
            known = secret_ids(client)
        except AuthError as err:
            if err.http_status != 403:
                raise
            say("warning: this token may not list secrets (ManageOrgSecrets), so the secret ids were not "
                "checked before the create")
            return
        missing = [s for s in dict.fromkeys(secrets) if s not in known]
        if missing:
            raise InvalidInput(f"secret id(s) {', '.join(map(repr, missing))} do not exist in organization "
                               f"{client.settings.org_id}; no session was created")


# -- writing ------------------------------------------------------------------------------------

def _send_write(client: Client, req: Any) -> dict:
    data = client.send(req).data
    return data if isinstance(data, dict) else {}


def create(client: Client, policy: Policy, kind: Kind, fields: dict, *, dry_run: bool = False) -> dict:
    """POST a new playbook or note; the policy checks the whole body."""
    payload = {k: v for k, v in fields.items() if v is not None}
    policy.check(kind.endpoint, payload)
    req = client.build("POST", kind.collection, body=payload, action=f"create_{kind.name}", safe_to_repeat=False)
    return req.preview() if dry_run else _send_write(client, req)


def update(client: Client, policy: Policy, kind: Kind, item_id: str, fields: dict, *, dry_run: bool = False) -> dict:
    """Change only the given fields: read the object, merge, PUT the whole body (the API's PUT replaces
    it). A dry run cannot read (it sends nothing), so its body holds the given fields and it names the
    read and the fields that would be copied from the current object."""
    rid = ids.check_resource_id(item_id, kind.words)
    given = {k: v for k, v in fields.items() if v is not None}
    policy.check(kind.endpoint, given, partial=True)
    path = {kind.key: rid}
    if dry_run:
        req = client.build("PUT", kind.item, path=path, body=given, action=f"update_{kind.name}")
        copied = [k for k in kind.fields if k not in given]
        return req.preview(reads_first=get(client, kind, rid, dry_run=True)["request"], copied_from_current=copied)
    client.ready_to_write()
    current = get(client, kind, rid)
    payload = {k: current.get(k) for k in kind.fields if current.get(k) is not None}
    payload.update(given)
    policy.check(kind.endpoint, payload)
    req = client.build("PUT", kind.item, path=path, body=payload, action=f"update_{kind.name}")
    return _send_write(client, req)


def delete(client: Client, template: str, path: dict, *, action: str, dry_run: bool) -> dict:
    req = client.build("DELETE", template, path=path, action=action)
    if dry_run:
        return req.preview()
    client.send(req)
    return {"deleted": True, **path}


def delete_item(client: Client, kind: Kind, item_id: str, *, dry_run: bool) -> dict:
    rid = ids.check_resource_id(item_id, kind.words)
    return delete(client, kind.item, {kind.key: rid}, action=f"delete_{kind.name}", dry_run=dry_run)


def delete_secret(client: Client, secret_id: str, *, dry_run: bool) -> dict:
    """Upstream answers 403 for an already-deleted secret: look it up before blaming permissions."""
    ids.check_resource_id(secret_id, "secret id")
    if not dry_run:
        client.ready_to_write()
    try:
        return delete(client, routes.SECRET, {"secret_id": secret_id}, action="delete_secret", dry_run=dry_run)
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

PSEUDO_FILESYSTEMS = frozenset({"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "debugfs",
                                "tracefs", "efivarfs", "configfs", "bpf", "pstore", "mqueue", "fusectl",
                                "binfmt_misc", "autofs", "hugetlbfs", "rpc_pipefs", "nsfs"})


def _filesystem_type(dev: int) -> str | None:
    """The type of the filesystem a file is on, from /proc/self/mountinfo (Linux; None elsewhere), so a
    pseudo-filesystem bind-mounted under the working directory is recognised wherever it is mounted."""
    import os
    want = f"{os.major(dev)}:{os.minor(dev)}"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 3 and fields[2] == want and " - " in line:
                    return line.split(" - ", 1)[1].split()[0]
    except OSError:
        return None
    return None


def _holds_secret(data: bytes, secrets: tuple[str, ...]) -> bool:
    """The token or its secret part, in the common encodings (UTF-8, UTF-16, UTF-32), also split by
    white space or a backslash-newline."""
    if not secrets:
        return False
    flat = b"".join(data.replace(b"\\\n", b"").split())
    for secret in secrets:
        if not secret or len(secret) < 8:
            continue
        for needle in {secret, secret.removeprefix("cog_")}:
            for codec in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
                raw = needle.encode(codec)
                if raw in data or (codec == "utf-8" and raw in flat):
                    return True
    return False


def open_upload(path: str, *, max_bytes: int, allow_outside_cwd: bool = False, cwd: str | None = None,
                secrets: tuple[str, ...] = (), env: Mapping[str, str] | None = None) -> UploadSpec:
    """Read a regular file under the working directory; returns (name, bytes in memory, size, content type).

    Symlinks are resolved and refused if they lead out of the working directory; directories,
    devices and FIFOs are refused; pseudo-files (/proc, /sys, /dev, and anything that resolves into
    them) are refused even with allow_outside_cwd, because they report a size of 0 and then read as the
    machine's secrets. The file is read once, capped while reading: what is sent is exactly what was
    checked (a file that grows or shrinks meanwhile is refused), and a file holding one of `secrets`
    (the configured token) is refused.
    """
    import io
    import mimetypes
    import os
    import stat
    from . import localfiles
    # pseudo-files, protected folders, symlinks out of the working directory, and (inside Claude Code) any
    # file outside it: one check for every file a script touches (see localfiles)
    real = localfiles.check(path, cwd=cwd or os.getcwd(), env=os.environ if env is None else env, what="upload",
                            allow_outside_cwd=allow_outside_cwd, outside_hint="; pass --allow-outside-cwd to upload it")
    try:
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InvalidInput(f"cannot open {path!r} ({exc.strerror})") from None
    try:
        localfiles.opened_as_checked(fd, real, "upload", path)
    except InvalidInput:
        os.close(fd)
        raise
    st = os.fstat(fd)
    fstype = _filesystem_type(st.st_dev)
    if fstype in PSEUDO_FILESYSTEMS:
        os.close(fd)
        raise InvalidInput(f"{path!r} is on a {fstype} pseudo-filesystem (wherever it is mounted); such files are "
                           "never uploaded")
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise InvalidInput(f"{path!r} is not a regular file (directories, devices and FIFOs are refused)")
    if st.st_size > max_bytes:
        os.close(fd)
        raise InvalidInput(f"{path!r} is {st.st_size} bytes; the upload limit is {max_bytes} bytes")
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InvalidInput(f"{path!r} grew past the upload limit of {max_bytes} bytes while it was read; "
                           "nothing was sent")
    if len(data) != st.st_size:
        raise InvalidInput(f"{path!r} changed while it was read ({st.st_size} bytes announced, {len(data)} read); "
                           "nothing was sent")
    if _holds_secret(data, secrets):
        raise InvalidInput(f"{path!r} contains the configured Devin token; it is never uploaded")
    name = os.path.basename(real)
    if not name or not name.isprintable() or len(name) > 255:
        raise InvalidInput("the file name has unprintable characters or is too long")
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, io.BytesIO(data), len(data), ctype


def upload(client: Client, upload_spec: UploadSpec, *, dry_run: bool) -> dict:
    req = client.build("POST", routes.ATTACHMENTS, files=upload_spec, action="upload_attachment",
                       safe_to_repeat=False)
    if dry_run:
        return req.preview()
    data = client.send(req).data
    if not isinstance(data, dict) or not isinstance(data.get("url"), str) or not data["url"].startswith("https://"):
        raise ApiError("the API answered the upload without an https url")
    return data

