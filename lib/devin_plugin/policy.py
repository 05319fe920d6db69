"""The payload policy: the single decision point for what a request body may hold.

Reads policy/policy.yaml (the project's allowlists) and the user's own policy file, which may
enable gated fields, lower limits, and set or require an ACU cap for every create, but never
allow a forbidden field. Imported only by calls that send a body, so read-only scripts never pay
for yaml or jsonschema.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError, InvalidInput, PolicyError
from .fieldnames import FORBIDDEN_FIELDS, POLICY_DIR, canonical, is_forbidden

POLICY_FILE = POLICY_DIR / "policy.yaml"
USER_POLICY_NAME = "policy.yaml"
MAX_POLICY_BYTES = 65536


def _yaml_load(path: Path) -> Any:
    import yaml
    try:  # libyaml is ~8x faster; an import is not a mutation site, so no equivalent mutants here
        from yaml import CSafeLoader as loader
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        from yaml import SafeLoader as loader  # type: ignore[assignment]
    data = path.read_bytes()
    if len(data) > MAX_POLICY_BYTES:
        raise ConfigError(f"policy file {path} is larger than {MAX_POLICY_BYTES} bytes")
    try:
        return yaml.load(data, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"policy file {path} is not valid YAML{where}") from None


USER_KEYS = ("enable_gated_fields", "limits", "create_defaults", "require_max_acu_limit")
# Fields the user's file may give a default for, on every session create.
CREATE_DEFAULT_FIELDS = ("max_acu_limit",)


def _user_policy(config_dir: Path, base: dict) -> dict:
    """Validate the user's policy file: it may only enable gated fields, lower limits, set a default
    ACU cap for every create and require one."""
    path = Path(config_dir) / USER_POLICY_NAME
    if not path.is_file():
        return {"enable_gated_fields": [], "limits": {}}
    data = _yaml_load(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping with enable_gated_fields and/or limits")
    unknown = set(data) - set(USER_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown keys {sorted(map(str, unknown))}; allowed: {', '.join(USER_KEYS)}")
    gated = data.get("enable_gated_fields") or []
    limits = data.get("limits") or {}
    if not isinstance(gated, list) or not all(isinstance(g, str) for g in gated):
        raise ConfigError(f"{path}: enable_gated_fields must be a list of field names")
    for name in gated:
        if is_forbidden(name):
            raise ConfigError(f"{path}: {name!r} is a forbidden field; no policy can allow it "
                              f"(forbidden: {', '.join(FORBIDDEN_FIELDS)})")
        if name not in base["gated_fields"]:
            raise ConfigError(f"{path}: {name!r} is not a gated field; gated fields: "
                              f"{', '.join(base['gated_fields'])}")
    if not isinstance(limits, dict):
        raise ConfigError(f"{path}: limits must be a mapping")
    for name, value in limits.items():
        if name not in base["limits"]:
            raise ConfigError(f"{path}: unknown limit {name!r}; known: {', '.join(base['limits'])}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{path}: limit {name} must be a positive integer")
        if value > base["limits"][name]:
            raise ConfigError(f"{path}: limit {name} can only be lowered (project limit {base['limits'][name]})")
    defaults = _create_defaults(path, data.get("create_defaults"), {**base["limits"], **limits})
    require = data.get("require_max_acu_limit", False)
    if not isinstance(require, bool):
        raise ConfigError(f"{path}: require_max_acu_limit must be true or false")
    return {"enable_gated_fields": list(gated), "limits": dict(limits), "create_defaults": defaults,
            "require_max_acu_limit": require, "path": str(path)}


def _create_defaults(path: Path, raw: Any, limits: dict) -> dict:
    """create_defaults: {max_acu_limit: N}, N a positive integer within the (possibly lowered) limit."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: create_defaults must be a mapping, e.g. create_defaults: {{max_acu_limit: 20}}")
    for name, value in raw.items():
        if name not in CREATE_DEFAULT_FIELDS:
            raise ConfigError(f"{path}: create_defaults.{str(name)[:64]} is not a field with a default; "
                              f"known: {', '.join(CREATE_DEFAULT_FIELDS)}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{path}: create_defaults.{name} must be a positive integer")
        if value > limits[name]:
            raise ConfigError(f"{path}: create_defaults.{name} {value} is above the limit {name} ({limits[name]}); "
                              "a default must be within it")
    return dict(raw)


class Policy:
    def __init__(self, base: dict, user: dict):
        self.base = base
        self.limits = {**base["limits"], **user["limits"]}
        self.enabled_gated = frozenset(user["enable_gated_fields"])
        self.create_defaults: dict = dict(user.get("create_defaults") or {})
        self.require_max_acu_limit = user.get("require_max_acu_limit") is True  # absent without a user file
        self.user_file = user.get("path")
        self._validators: dict = {}

    def apply_create_defaults(self, payload: dict) -> tuple[dict, list[str]]:
        """The create payload with the user's create_defaults filled in where a field is absent (a given
        value, even one the check will refuse, is never replaced), and a note per field filled. Refuses
        (PolicyError, nothing sent) a create without an ACU cap when the user's file requires one."""
        out, notes = dict(payload), []
        for name, value in self.create_defaults.items():
            if out.get(name) is None:
                out[name] = value
                notes.append(f"{name} set to {value} from create_defaults in your policy file {self.user_file}")
        if self.require_max_acu_limit and out.get("max_acu_limit") is None:
            raise PolicyError(f"your policy file {self.user_file} requires an ACU cap on every session "
                              "(require_max_acu_limit: true): give --max-acu N (max_acu_limit in a payload or an "
                              "MCP call), or set create_defaults: {max_acu_limit: N} in that file. "
                              "Nothing was sent.")
        return out, notes

    def limit(self, name: str) -> int:
        return self.limits[name]

    def fields(self, endpoint: str) -> list[str]:
        return list(self.base["endpoints"][endpoint]["fields"])

    def schema(self, endpoint: str) -> dict:
        """The endpoint's JSON Schema, with definitions and limits resolved (also used by MCP tools)."""
        spec = self.base["endpoints"][endpoint]
        props = {name: self._resolve(frag) for name, frag in spec["fields"].items()
                 if name not in self.base["gated_fields"] or name in self.enabled_gated}
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                "additionalProperties": False, "required": list(spec["required"]),
                "properties": props}

    def _resolve(self, frag: Any) -> Any:
        if isinstance(frag, dict):
            out = {}
            if "$ref" in frag:
                # _resolve builds new containers and never changes its input: no copy needed
                out.update(self._resolve(self.base["definitions"][frag["$ref"]]))
            for key, value in frag.items():
                if key == "$ref":
                    continue
                if isinstance(value, dict) and set(value) == {"limit"}:
                    out[key] = self.limits[value["limit"]]
                else:
                    out[key] = self._resolve(value)
            return out
        if isinstance(frag, list):
            return [self._resolve(v) for v in frag]
        return frag

    def _validator(self, endpoint: str, partial: bool) -> Any:
        key = (endpoint, partial)
        if key not in self._validators:
            from jsonschema import Draft202012Validator
            schema = self.schema(endpoint)
            if partial:
                schema["required"] = []
            # The shipped schemas are checked once by the test suite, not on every run.
            self._validators[key] = Draft202012Validator(schema)
        return self._validators[key]

    def check(self, endpoint: str, payload: Any, *, partial: bool = False) -> dict:
        """Return the payload if every field is allowed and valid; otherwise refuse, sending nothing."""
        if endpoint not in self.base["endpoints"]:
            raise PolicyError(f"internal: no policy for endpoint {endpoint}")
        if not isinstance(payload, dict):
            raise InvalidInput("the payload must be a JSON object")
        allowed = self.base["endpoints"][endpoint]["fields"]
        by_canon = {canonical(n): n for n in allowed}
        for key in payload:  # forbidden first, so no other refusal can mask it
            if not isinstance(key, str):
                raise PolicyError("field names must be strings")
            if is_forbidden(key):
                raise PolicyError(
                    f"field {_show_key(key)} is forbidden and is never sent: impersonation (create_as_user_id, "
                    "message_as_user_id) and inline secrets (session_secrets) are not allowed; pass "
                    "stored secrets by id with --secret-id. Nothing was sent.")
        for key in payload:
            shown = _show_key(key)
            if key not in allowed:
                hint = by_canon.get(canonical(key))
                extra = f" (did you mean {hint!r}?)" if hint else ""
                raise PolicyError(f"unknown field {shown} for {endpoint}{extra}; allowed fields: "
                                  f"{', '.join(self._visible(endpoint))}. Nothing was sent.")
            if key in self.base["gated_fields"] and key not in self.enabled_gated:
                raise PolicyError(
                    f"field {key!r} is gated ({self.base['gated_fields'][key]}) and off by default; to allow "
                    f"it, add it to enable_gated_fields in your own policy file "
                    f"(~/.config/devin-plugin/{USER_POLICY_NAME}). Nothing was sent.")
        errors = sorted(self._validator(endpoint, partial).iter_errors(payload),
                        key=lambda e: (list(e.absolute_path), e.validator))
        if errors:
            raise InvalidInput(_describe(errors[0]) + self._stricter(endpoint, errors[0]) + ". Nothing was sent.")
        self._check_trailing_newlines(endpoint, payload)
        _check_no_token(payload)
        if "structured_output_schema" in payload:
            self._check_output_schema(payload["structured_output_schema"])
        return payload

    def _stricter(self, endpoint: str, err: Any) -> str:
        """Where the project refuses what the API would take, the refusal says so (and why)."""
        path = list(err.absolute_path)
        if err.validator not in ("pattern", "maxLength", "maxItems"):
            return ""
        # These rules sit on fields, never on the root, and unknown fields are refused before the schema
        # runs: the path starts with a known field's name.
        reason = self.base["endpoints"][endpoint]["fields"][path[0]].get("x-stricter")
        return f" (stricter than the API on purpose: {reason})" if reason else ""

    def _check_trailing_newlines(self, endpoint: str, payload: dict) -> None:
        # jsonschema runs patterns with re.search, where '$' also matches before a final newline.
        props = self.schema(endpoint)["properties"]
        for name, value in payload.items():
            frag = props.get(name, {})
            if "pattern" in frag.get("items", {}):
                values = value if isinstance(value, list) else []
            elif "pattern" in frag:
                values = [value]
            else:
                continue
            if any(isinstance(v, str) and v.endswith("\n") for v in values):
                raise InvalidInput(f"field {name} must not end with a line break. Nothing was sent.")

    def _visible(self, endpoint: str) -> list[str]:
        return [n for n in self.fields(endpoint)
                if n not in self.base["gated_fields"] or n in self.enabled_gated]

    def _check_output_schema(self, schema: Any) -> None:
        # Measured as ASCII-escaped JSON, never smaller than its UTF-8 bytes: the strictest reading of "64 KB".
        size = len(json.dumps(schema))
        cap = self.limits["structured_output_schema_max_bytes"]
        if size > cap:
            raise InvalidInput(f"structured_output_schema is {size} bytes; the limit is {cap}. Nothing was sent.")
        ref = _external_ref(schema)
        if ref is not None:
            raise InvalidInput(f"structured_output_schema must be self-contained; $ref {ref[:80]!r} points "
                               "outside the schema (only '#...' references). Nothing was sent.")
        from jsonschema import Draft7Validator
        from jsonschema.exceptions import SchemaError
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path) or "(root)"
            raise InvalidInput(f"structured_output_schema is not a valid JSON Schema Draft 7 at {where}: "
                               f"{exc.validator} {_short_value(exc.validator_value)}. Nothing was sent.") from None


def _external_ref(node: Any) -> Any:
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return ref
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return None


def _show_key(key: str) -> str:
    text = key if len(key) <= 60 else key[:60] + "..."
    return ascii(text)


def _short_value(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)  # ASCII: json.dumps' default
    return text if len(text) <= 80 else text[:80] + "..."


def _describe(err: Any) -> str:
    """A message built from the rule, never from the refused value (it may be a secret)."""
    path = "/".join(str(p) for p in err.absolute_path) or "payload"
    rule, value = err.validator, err.validator_value
    if rule == "required":
        missing = [r for r in value if r not in (err.instance or {})]
        return f"{path} is missing the required field(s) {', '.join(missing)}"
    messages = {
        "type": f"must be of type {_short_value(value)}",
        "maxLength": f"is longer than {value} characters",
        "minLength": f"is shorter than {value} character(s)",
        "pattern": f"does not match the allowed pattern {value}",
        "minimum": f"must be at least {value}",
        "maximum": f"must be at most {value}",
        "maxItems": f"has more than {value} items",
        "uniqueItems": "has duplicate items",
        "enum": f"must be one of {_short_value(value)}",
        "additionalProperties": "has fields that are not allowed",
    }
    return f"field {path} {messages.get(rule, f'fails the {rule} rule')}"


@lru_cache(maxsize=4)
def _load_cached(config_dir: str, user_mtime: float) -> Policy:
    base = _yaml_load(POLICY_FILE)
    return Policy(base, _user_policy(Path(config_dir), base))


def load(config_dir: str | os.PathLike[str]) -> Policy:
    path = Path(config_dir) / USER_POLICY_NAME
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = 0.0
    return _load_cached(str(config_dir), mtime)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_no_token(payload: dict) -> None:
    """The configured token never travels inside a payload (an argument that expanded a token variable, a
    pasted file): secrets go by id. Nor does text that cannot be sent as UTF-8 (a lone surrogate)."""
    from . import redact

    def walk(value: Any, where: str) -> None:
        if isinstance(value, str):
            if _SURROGATE.search(value):  # not sendable as UTF-8 JSON; say so rather than fail at encoding
                raise PolicyError(f"field {where!r} holds text that is not valid Unicode (a lone surrogate, as "
                                  "an argument that is not UTF-8 gives); give it as UTF-8 text. Nothing was sent.")
            if redact.holds_secret(value):
                raise PolicyError(f"field {where!r} holds the configured Devin token; a secret is never sent inline "
                                  "(store it in Devin and pass its id with --secret-id). Nothing was sent.")
        elif isinstance(value, dict):
            for item in value.values():
                walk(item, where)
        elif isinstance(value, list):
            for item in value:
                walk(item, where)

    for name, value in payload.items():
        walk(value, name)
