"""One call's surroundings, shared by both doors (the scripts' CLI and the MCP server): the
environment it reads its settings from, the working directory, and the per-call core objects."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import config, ids

if TYPE_CHECKING:
    from .config import Settings
    from .http import Client, Transport
    from .policy import Policy


class Context:
    """Settings are read once per call from `env`; a dry run needs no token."""

    def __init__(self, env: Mapping[str, str] | None = None, *, dry_run: bool = False,
                 cwd: str | None = None, transport: Transport | None = None,
                 note: Callable[[str], None] | None = None):
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.dry_run = dry_run
        self.cwd = cwd or os.getcwd()
        self.transport = transport
        self._note = note
        self._settings: dict[bool, Settings] = {}

    def note(self, message: str) -> None:
        if self._note is not None:
            self._note(message)

    def settings(self, need_token: bool = True) -> Settings:
        need = need_token and not self.dry_run
        if need not in self._settings:
            self._settings[need] = config.load(self.env, need_token=need)
        return self._settings[need]

    def client(self, deadline_s: float = 60.0, **kw: Any) -> Client:
        from .http import Client
        return Client(self.settings(), deadline_s=deadline_s, transport=self.transport, **kw)

    def client_factory(self) -> Callable[[float], Client]:
        """New clients on the same settings, one per poll (each with its own deadline)."""
        settings = self.settings()

        def make(deadline_s: float) -> Client:
            from .http import Client
            return Client(settings, deadline_s=deadline_s, transport=self.transport)
        return make

    def policy(self) -> Policy:
        from . import policy
        return policy.load(config.config_dir(self.env))

    def session_id(self, raw: str) -> str:
        settings = next(iter(self._settings.values()), None) or self.settings(need_token=False)
        if ids.is_last(raw):
            from .recent import last_session
            return last_session(settings.state_dir, settings.org_id)
        return ids.normalize_session_id(raw, settings.base.app_hosts())

    def dedup_settle_seconds(self) -> float:
        return config.dedup_settle_seconds(self.env)

    def remember_created(self, result: dict) -> dict:
        """After a create: a new session becomes `last` (anything else is left alone); returns `result`."""
        from .recent import remember_created
        settings = self.settings()
        remember_created(settings.state_dir, settings.org_id, result, self.note)
        return result
