"""Settings from the environment: base URL, API version, org, token, local directories.

Everything here is checked before any connection is made; a refusal is a ConfigError (exit 3).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from . import locations, redact
from .errors import ConfigError

Env = Mapping[str, str]
DEFAULT_BASE = "https://api.devin.ai"
API_VERSIONS = ("v3", "v3beta1")
# A dedicated enterprise deployment has its own API host, api.<company>.devinenterprise.com.
_ENTERPRISE_API = re.compile(r"api\.([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.devinenterprise\.com")
ORG_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{3,63}")
# Visible ASCII only: anything else could break or smuggle into the Authorization header.
TOKEN_PATTERN = re.compile(r"cog_[\x21-\x7e]{8,1024}")
TOKEN_HELP = ("Create a service user in Devin (Settings > Service users), give it the permissions you "
              "need, and give its cog_ token to the plugin: in Claude Code as the plugin's option "
              "(claude plugin configure), or in ~/.config/devin/token (or a file named by DEVIN_TOKEN_FILE) "
              "that only you can read (chmod 600), or in DEVIN_SERVICE_USER_TOKEN.")


class BaseUrl(NamedTuple):
    # NamedTuple rather than a dataclass: a cold script should not pay for importing dataclasses.
    scheme: str
    host: str
    port: int | None
    loopback: bool
    enterprise_name: str | None

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port else "")

    def app_hosts(self) -> frozenset[str]:
        """Hosts whose /sessions/<id> URLs name sessions of this deployment."""
        hosts = {"app.devin.ai"}
        if self.enterprise_name:
            hosts.add(f"app.{self.enterprise_name}.devinenterprise.com")
        return frozenset(hosts)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    if not (host[:1].isdigit() or ":" in host):
        return False  # a name, not an address literal: no need to load ipaddress
    import ipaddress
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(raw: str) -> BaseUrl:
    """Accept https://api.devin.ai, https on an enterprise API host, or http(s) on loopback."""
    allowed = ("allowed: https://api.devin.ai, https://api.<company>.devinenterprise.com, "
               "or http(s)://127.0.0.1:<port> for a local emulator")
    raw = raw.strip()
    if any(ord(c) < 0x21 or ord(c) > 0x7e for c in raw):
        raise ConfigError(f"DEVIN_API_BASE contains spaces or non-ASCII characters; {allowed}")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError(f"DEVIN_API_BASE is not a valid URL; {allowed}") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ConfigError(f"DEVIN_API_BASE must not carry user information; {allowed}")
    if parts.query or parts.fragment or parts.path not in ("", "/"):
        raise ConfigError(f"DEVIN_API_BASE must be a bare origin (no path, query or fragment); {allowed}")
    host = (parts.hostname or "").lower()
    scheme = parts.scheme.lower()
    if not host or host.endswith("."):
        raise ConfigError(f"DEVIN_API_BASE has no usable host name; {allowed}")
    if _is_loopback(host):
        if scheme not in ("http", "https"):
            raise ConfigError(f"DEVIN_API_BASE scheme must be http or https on loopback; {allowed}")
        return BaseUrl(scheme, host, port, True, None)
    if scheme != "https":
        raise ConfigError(f"DEVIN_API_BASE must use https for a remote host; {allowed}")
    if port not in (None, 443):
        raise ConfigError(f"DEVIN_API_BASE must use the default https port; {allowed}")
    if host == "api.devin.ai":
        return BaseUrl("https", host, None, False, None)
    m = _ENTERPRISE_API.fullmatch(host)
    if m:
        return BaseUrl("https", host, None, False, m.group(1))
    raise ConfigError(f"DEVIN_API_BASE host {host!r} is not a Devin API host; {allowed}")


def default_token_file(env: Env) -> Path:
    """locations.TOKEN_FILE under HOME: where the plugin's SessionStart hook puts the token given as the
    plugin option, and the file the README's sandbox settings hide (not XDG_CONFIG_HOME: they name it)."""
    return home_dir(env) / locations.TOKEN_FILE.removeprefix("~/")


def token_source(env: Env) -> str:
    """Where read_token() takes the token from, in the words of the setting."""
    if env.get("DEVIN_SERVICE_USER_TOKEN"):
        return "DEVIN_SERVICE_USER_TOKEN"
    return "DEVIN_TOKEN_FILE" if env.get("DEVIN_TOKEN_FILE") else locations.TOKEN_FILE


def read_token(env: Env) -> str:
    """The token: DEVIN_SERVICE_USER_TOKEN, else DEVIN_TOKEN_FILE's file, else ~/.config/devin/token."""
    source = token_source(env)
    raw = env.get("DEVIN_SERVICE_USER_TOKEN")
    if not raw:
        path = env.get("DEVIN_TOKEN_FILE") or str(default_token_file(env))
        if source == locations.TOKEN_FILE and not os.path.lexists(path):
            raise ConfigError("no Devin token configured. " + TOKEN_HELP)
        raw = _read_token_file(path, source)
    token = raw.strip()
    redact.register_secret(token)
    redact.register_secret(raw)
    if token.startswith("apk_"):
        raise ConfigError(f"{source} holds an apk_ key of the legacy v1 API, which v3 does not accept. "
                          + TOKEN_HELP)
    if not TOKEN_PATTERN.fullmatch(token):
        raise ConfigError(f"{source} does not look like a Devin service-user token (expected cog_ "
                          "followed by at least 8 visible ASCII characters, no spaces). " + TOKEN_HELP)
    return token


def _read_token_file(path: str, source: str) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except PermissionError as exc:
        raise ConfigError(f"{source} cannot be opened ({exc.strerror}). If this ran inside Claude Code's sandbox, "
                          "that is on purpose: the sandbox hides the token, and only the plugin's scripts, run "
                          "exactly as its commands show them, run outside it (see /devin:setup)") from None
    except OSError as exc:
        raise ConfigError(f"{source} cannot be opened ({exc.strerror}; symlinks are refused)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{source} is not a regular file")
        if st.st_mode & 0o077:
            raise ConfigError(f"{source} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                              "run chmod 600 on it")
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            raise ConfigError(f"{source} belongs to another user")
        if st.st_size > 4096:
            raise ConfigError(f"{source} is larger than a token can be (4 KiB)")
        data = os.read(fd, 4097)
    finally:
        os.close(fd)
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(f"{source} does not hold an ASCII token") from None


def home_dir(env: Env) -> Path:
    return Path(env.get("HOME") or os.path.expanduser("~"))


def state_dir(env: Env | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or str(home_dir(env) / ".local" / "state")
    return Path(base) / "devin-plugin"


def config_dir(env: Env | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(home_dir(env) / ".config")
    return Path(base) / "devin-plugin"


class Settings:
    """The checked configuration of one call (a plain class: see BaseUrl)."""

    def __init__(self, base: BaseUrl, api_version: str, org_id: str, token: str | None, state_dir: Path,
                 config_dir: Path, problems: list[str] | None = None):
        self.base, self.api_version, self.org_id, self.token = base, api_version, org_id, token
        self.state_dir, self.config_dir = state_dir, config_dir
        self.problems: list[str] = list(problems or [])

    def __repr__(self) -> str:  # never the token
        return f"Settings(base={self.base.origin!r}, api_version={self.api_version!r}, org_id={self.org_id!r})"

    @property
    def base_url(self) -> str:
        return self.base.origin


def org_id_problem(org: str) -> str | None:
    """Why this DEVIN_ORG_ID value cannot be used, or None."""
    if not org:
        return ("DEVIN_ORG_ID is not set: every call is confined to one organization (its id looks like "
                "org-abc123...; check_setup.py names the organization your token belongs to)")
    if not ORG_ID_PATTERN.fullmatch(org):
        return "DEVIN_ORG_ID has an unexpected form (allowed: 4-64 letters, digits, '-' or '_')"
    return None


def load(env: Env | None = None, *, need_token: bool = True, need_org: bool = True) -> Settings:
    """Read and check the configuration. need_token=False lets --dry-run show a request without one;
    need_org=False is for check_setup alone, whose GET /self has no org in its path and names the token's org."""
    env = os.environ if env is None else env
    base = parse_base_url(env.get("DEVIN_API_BASE") or DEFAULT_BASE)
    version = (env.get("DEVIN_API_VERSION") or "v3").strip()
    if version not in API_VERSIONS:
        raise ConfigError(f"DEVIN_API_VERSION must be one of {', '.join(API_VERSIONS)}")
    org = (env.get("DEVIN_ORG_ID") or "").strip()
    problem = org_id_problem(org)
    if problem and need_org:
        raise ConfigError(problem)
    if problem:
        org = ""  # no org-scoped path can be built from these settings (http.Client.build refuses it)
    token = None
    if need_token or env.get("DEVIN_SERVICE_USER_TOKEN") or env.get("DEVIN_TOKEN_FILE"):
        token = read_token(env)
    return Settings(base, version, org, token, state_dir(env), config_dir(env))


def dedup_settle_seconds(env: Env | None = None) -> float:
    """DEVIN_DEDUP_SETTLE_SECONDS: the wait before create's second look for a same-title session
    created elsewhere at the same moment (cross-machine dedup); 0 turns the second look off."""
    env = os.environ if env is None else env
    raw = env.get("DEVIN_DEDUP_SETTLE_SECONDS") or "2"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError("DEVIN_DEDUP_SETTLE_SECONDS must be a number of seconds") from None
    if not 0 <= value <= 30:
        raise ConfigError("DEVIN_DEDUP_SETTLE_SECONDS must be between 0 and 30")
    return value
