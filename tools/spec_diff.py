#!/usr/bin/env python3
"""Compare two descriptions of the Devin API and print what changed.

    python3 tools/spec_diff.py OLD NEW [--json]

Each input is a facts file (schemas/devin-api/v3-facts.json: {"operations", "components"}) or an OpenAPI
document (JSON; YAML too when PyYAML is importable). Operations are matched by method and path (path
parameter names aside); for each one the permission, the parameters, the request body and every response
are compared field by field: a field is a schema property path ("items[].status", "tags[]"), and what is
compared for it is its type, enum, const, format, limits, pattern, default and its object's required list.
$refs are followed inside their own document, so a facts file and an OpenAPI document compare directly.
Descriptions, titles, examples and annotations ("x-...", "unverified") are not compared. An OpenAPI document
states no permission; where one side does not say, the permission is not compared.

Exit status: 0 identical, 1 different, 2 bad input (unreadable, not a facts file or OpenAPI document, or a
$ref that does not resolve).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Schema keywords compared for every field; everything else (prose, examples, x-*) is ignored.
SCALAR_KEYS = ("format", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
               "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "minProperties",
               "maxProperties", "default")
SET_KEYS = ("type", "enum", "required")
UNKNOWN = "(not stated)"
PERMISSION_RE = re.compile(r"`([A-Z][A-Za-z]+)`\s+permission")


class BadInput(Exception):
    """The input cannot be compared; the message says why."""


# -- loading ---------------------------------------------------------------------------------------------------

def load(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: cannot read ({exc})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        json_error = exc
    try:
        import yaml  # optional: only for OpenAPI YAML
    except ImportError:
        raise BadInput(f"{path}: not JSON ({json_error}); YAML input needs PyYAML") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BadInput(f"{path}: neither JSON nor YAML ({exc})") from None


def kind_of(doc: Any, name: str) -> str:
    if isinstance(doc, dict) and isinstance(doc.get("operations"), dict) and isinstance(doc.get("components"), dict):
        return "facts"
    if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc) and isinstance(doc.get("paths"), dict):
        return "openapi"
    raise BadInput(f"{name}: neither a facts file (operations, components) nor an OpenAPI document (openapi, paths)")


# -- flattening schemas into fields ----------------------------------------------------------------------------

@dataclass
class Field:
    """What one schema path says; values are kept as given, keyed by their canonical JSON text."""
    sets: dict[str, dict[str, Any]] = field(default_factory=dict)
    scalars: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_set(self, key: str, values: list[Any]) -> None:
        self.sets.setdefault(key, {}).update((_canon(v), v) for v in values)

    def add_scalar(self, key: str, value: Any) -> None:
        self.scalars.setdefault(key, {})[_canon(value)] = value

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: [v[c] for c in sorted(v)] for k, v in self.sets.items()}
        for key, values in self.scalars.items():
            out[key] = next(iter(values.values())) if len(values) == 1 else [values[c] for c in sorted(values)]
        return out


def _canon(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def resolve(root: Any, ref: str, name: str) -> Any:
    if ref != "#" and not ref.startswith("#/"):
        raise BadInput(f"{name}: $ref {ref!r} is not a local JSON pointer; only those are supported")
    node = root
    for raw in ref[1:].split("/")[1:] if ref != "#" else []:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise BadInput(f"{name}: $ref {ref!r} does not resolve")
    return node


class Flattener:
    def __init__(self, root: Any, name: str) -> None:
        self.root, self.name = root, name

    def fields(self, schema: Any) -> dict[str, dict[str, Any]]:
        out: dict[str, Field] = {}
        if schema is not None:
            self._walk(schema, "", out, ())
        return {path: f.view() for path, f in out.items()}

    def _walk(self, schema: Any, path: str, out: dict[str, Field], stack: tuple[str, ...]) -> None:
        if isinstance(schema, bool) or not isinstance(schema, dict):
            return
        node = out.setdefault(path, Field())
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in stack:
                node.add_scalar("recursive", ref.rsplit("/", 1)[-1])
                return
            self._walk(resolve(self.root, ref, self.name), path, out, (*stack, ref))
        types = schema.get("type")
        if isinstance(types, str):
            node.add_set("type", [types])
        elif isinstance(types, list):
            node.add_set("type", types)
        if schema.get("nullable") is True:
            node.add_set("type", ["null"])
        if isinstance(schema.get("enum"), list):
            node.add_set("enum", schema["enum"])
        if isinstance(schema.get("required"), list):
            node.add_set("required", schema["required"])
        for key in SCALAR_KEYS:
            if key in schema:
                node.add_scalar(key, schema[key])
        if isinstance(schema.get("additionalProperties"), bool):
            node.add_scalar("additionalProperties", schema["additionalProperties"])
        for key in ("allOf", "anyOf", "oneOf"):
            for variant in schema.get(key) or []:
                self._walk(variant, path, out, stack)
        for prop, sub in (schema.get("properties") or {}).items():
            self._walk(sub, f"{path}.{prop}" if path else prop, out, stack)
        if isinstance(schema.get("items"), dict):
            self._walk(schema["items"], f"{path}[]", out, stack)
        if isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"]:
            self._walk(schema["additionalProperties"], f"{path}{{}}", out, stack)


# -- normalizing a document into comparable operations --------------------------------------------------------

@dataclass
class Operation:
    method: str
    path: str
    key: str
    permission: list[str] | None  # None: the document does not say
    params: dict[str, dict[str, Any]]
    request: dict[str, dict[str, Any]] | None
    responses: dict[str, dict[str, dict[str, Any]]]

    @property
    def ident(self) -> str:
        return f"{self.method} {self.path}"


def match_key(method: str, path: str) -> str:
    return f"{method.upper()} {re.sub(r'{[^}]*}', '{}', path.rstrip('/') or '/')}"


def _permission(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(value)
    raise BadInput(f"permission must be a string, a list of strings or null, not {value!r}")


def _param_entry(flat: Flattener, name: str, where: str, required: Any, schema: Any) -> tuple[str, dict[str, Any]]:
    fields = flat.fields(schema)
    fields.setdefault("", {})["(required)"] = bool(required)
    return f"{name} ({where})", fields


def facts_operations(doc: dict[str, Any], name: str) -> dict[str, Operation]:
    flat = Flattener(doc, name)
    ops: dict[str, Operation] = {}
    for key, op in doc["operations"].items():
        if not isinstance(op, dict) or not isinstance(op.get("method"), str) or not isinstance(op.get("path"), str):
            raise BadInput(f"{name}: operation {key!r} needs a method and a path")
        params = {}
        for param in op.get("parameters") or []:
            if not isinstance(param, dict) or "name" not in param or "in" not in param:
                raise BadInput(f"{name}: operation {key!r} has a parameter without name and in")
            label, fields = _param_entry(flat, param["name"], param["in"], param.get("required"), param.get("schema"))
            params[label] = fields
        responses = {str(status): flat.fields(schema) for status, schema in (op.get("responses") or {}).items()}
        request = flat.fields(op["request"]) if op.get("request") is not None else None
        operation = Operation(op["method"].upper(), op["path"], key, _permission(op.get("permission")), params,
                              request, responses)
        ops[match_key(operation.method, operation.path)] = operation
    return ops


def _body_schema(content: Any) -> Any:
    if not isinstance(content, dict) or not content:
        return None
    for media in ("application/json", "multipart/form-data", "application/problem+json"):
        if media in content:
            return (content[media] or {}).get("schema")
    return (next(iter(content.values())) or {}).get("schema")


def _openapi_permission(op: dict[str, Any]) -> list[str] | None:
    for key in ("x-permission", "x-permissions"):
        if key in op:
            return _permission(op[key])
    found = PERMISSION_RE.findall(op.get("description") or "")
    return sorted(set(found)) if found else None


def openapi_operations(doc: dict[str, Any], name: str) -> dict[str, Operation]:
    flat = Flattener(doc, name)
    ops: dict[str, Operation] = {}
    for path, item in doc["paths"].items():
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("$ref"), str):
            item = resolve(doc, item["$ref"], name)
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params = {}
            for param in [*shared, *(op.get("parameters") or [])]:
                if isinstance(param, dict) and isinstance(param.get("$ref"), str):
                    param = resolve(doc, param["$ref"], name)
                if not isinstance(param, dict) or "name" not in param:
                    continue
                schema = param.get("schema", _body_schema(param.get("content")))
                label, fields = _param_entry(flat, param["name"], param.get("in", "?"), param.get("required"), schema)
                params[label] = fields
            request = None
            body = op.get("requestBody")
            if isinstance(body, dict):
                if isinstance(body.get("$ref"), str):
                    body = resolve(doc, body["$ref"], name)
                request = flat.fields(_body_schema(body.get("content")))
            responses = {}
            for status, response in (op.get("responses") or {}).items():
                if isinstance(response, dict) and isinstance(response.get("$ref"), str):
                    response = resolve(doc, response["$ref"], name)
                content = response.get("content") if isinstance(response, dict) else None
                responses[str(status)] = flat.fields(_body_schema(content))
            key = str(op.get("operationId") or f"{method} {path}")
            operation = Operation(method.upper(), path, key, _openapi_permission(op), params, request, responses)
            ops[match_key(operation.method, operation.path)] = operation
    return ops


def operations(doc: Any, name: str) -> dict[str, Operation]:
    kind = kind_of(doc, name)
    return facts_operations(doc, name) if kind == "facts" else openapi_operations(doc, name)


# -- comparing -------------------------------------------------------------------------------------------------

def _change(where: str, path: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"where": where, "path": path or "(root)", "kind": kind, **extra}


def diff_fields(where: str, old: dict[str, dict[str, Any]] | None,
                new: dict[str, dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    if old is None and new is None:
        return
    if old is None or new is None:
        yield _change(where, "", "added" if old is None else "removed")
        return
    for path in sorted(old.keys() | new.keys()):
        if path not in new:
            yield _change(where, path, "removed", old=old[path])
        elif path not in old:
            yield _change(where, path, "added", new=new[path])
        else:
            a, b = old[path], new[path]
            for attr in sorted(a.keys() | b.keys()):
                if a.get(attr) == b.get(attr):
                    continue
                if attr in SET_KEYS:
                    before = {_canon(v): v for v in a.get(attr, [])}
                    after = {_canon(v): v for v in b.get(attr, [])}
                    yield _change(where, path, "changed", attribute=attr,
                                  added=[after[c] for c in sorted(after.keys() - before.keys())],
                                  removed=[before[c] for c in sorted(before.keys() - after.keys())])
                else:
                    yield _change(where, path, "changed", attribute=attr, old=a.get(attr, UNKNOWN),
                                  new=b.get(attr, UNKNOWN))


def diff_operation(old: Operation, new: Operation) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    if old.path != new.path:
        changes.append(_change("path", "", "changed", old=old.path, new=new.path))
    if old.permission is not None and new.permission is not None and old.permission != new.permission:
        changes.append(_change("permission", "", "changed", old=old.permission or None, new=new.permission or None))
    for label in sorted(old.params.keys() | new.params.keys()):
        changes.extend(diff_fields(f"parameter {label}", old.params.get(label), new.params.get(label)))
    changes.extend(diff_fields("request", old.request, new.request))
    for status in sorted(old.responses.keys() | new.responses.keys()):
        changes.extend(diff_fields(f"response {status}", old.responses.get(status), new.responses.get(status)))
    return changes


def compare(old_doc: Any, new_doc: Any, old_name: str = "OLD", new_name: str = "NEW") -> dict[str, Any]:
    old, new = operations(old_doc, old_name), operations(new_doc, new_name)
    added = [{"operation": new[k].ident, "key": new[k].key} for k in sorted(new.keys() - old.keys())]
    removed = [{"operation": old[k].ident, "key": old[k].key} for k in sorted(old.keys() - new.keys())]
    changed = []
    for k in sorted(old.keys() & new.keys()):
        found = diff_operation(old[k], new[k])
        if found:
            changed.append({"operation": new[k].ident, "key": old[k].key, "changes": found})
    return {"identical": not (added or removed or changed), "added": added, "removed": removed, "changed": changed}


# -- output ----------------------------------------------------------------------------------------------------

def _short(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def describe(change: dict[str, Any]) -> str:
    where = change["where"] if change["path"] == "(root)" else f"{change['where']} {change['path']}"
    if change["kind"] in ("added", "removed") and "attribute" not in change:
        return f"{where}: {change['kind']}"
    attr = change["attribute"] if "attribute" in change else change["where"]
    if "added" in change:
        parts = [f"+{_short(change['added'])}" if change["added"] else "",
                 f"-{_short(change['removed'])}" if change["removed"] else ""]
        return f"{where}: {attr} {' '.join(p for p in parts if p)}"
    return f"{where}: {attr} {_short(change['old'])} -> {_short(change['new'])}"


def render(result: dict[str, Any]) -> str:
    if result["identical"]:
        return "identical: no operation, field, enum, required list or permission differs"
    lines = []
    for title, sign, items in (("operations added", "+", result["added"]), ("operations removed", "-",
                                                                              result["removed"])):
        if items:
            lines.append(f"{title}:")
            lines.extend(f"  {sign} {item['operation']}  ({item['key']})" for item in items)
    for item in result["changed"]:
        lines.append(f"changed {item['operation']}  ({item['key']}):")
        lines.extend(f"  {describe(change)}" for change in item["changes"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare two Devin API facts files or OpenAPI documents.")
    parser.add_argument("old", help="facts file or OpenAPI document (JSON, or YAML with PyYAML)")
    parser.add_argument("new", help="facts file or OpenAPI document to compare with OLD")
    parser.add_argument("--json", action="store_true", help="print the differences as JSON")
    args = parser.parse_args(argv)
    try:
        result = compare(load(args.old), load(args.new), args.old, args.new)
    except BadInput as exc:
        print(f"spec_diff: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) if args.json else render(result))
    return 0 if result["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
