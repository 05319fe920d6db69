"""The shape the README's Architecture section promises, checked on the source (issue 12):
no import cycle in the library, one way out (only http.py imports requests), one printer
(only output.py writes to the standard streams), route templates written once (routes.py),
scripts that assemble no request of their own."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

LIB = ROOT / "lib" / "devin_plugin"
SCRIPTS = ROOT / "scripts"


def _module(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every devin_plugin module this file imports, at any level (TYPE_CHECKING and function bodies too)."""
    me = _module(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("devin_plugin"):
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    out.add(sub if (LIB.parent / (sub.replace(".", "/") + ".py")).exists()
                            or (LIB.parent / sub.replace(".", "/")).is_dir() else target)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("devin_plugin"))
    out.discard(me)
    out.discard("devin_plugin")  # the package's __init__ holds only the version
    return out


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in LIB.rglob("*.py")}


def test_the_library_has_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt in graph and not state.get(nxt):
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    assert cycles == []


def test_the_import_graph_is_read_for_real():
    graph = _graph()
    assert "devin_plugin.paging" in graph["devin_plugin.sessions"]
    assert "devin_plugin.routes" in graph["devin_plugin.resources"]
    assert "devin_plugin.mcp_server.runner" in graph["devin_plugin.mcp_server.tools"]


def _names_imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_guarded_helper_imports_requests():
    users = sorted(str(p.relative_to(ROOT)) for p in [*LIB.rglob("*.py"), *SCRIPTS.glob("*.py")]
                   if {"requests", "urllib3"} & _names_imported(p))
    assert users == ["lib/devin_plugin/http.py"]


def test_only_the_output_module_writes_to_the_standard_streams():
    offenders = []
    for p in [*LIB.rglob("*.py"), *SCRIPTS.glob("*.py")]:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
                offenders.append(f"{p.name}:{node.lineno} print")
            if (isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr")
                    and isinstance(node.value, ast.Name) and node.value.id == "sys"):
                offenders.append(f"{p.name}:{node.lineno} sys.{node.attr}")
    allowed = {"output.py", "cli.py", "boot.py", "mcp_server.py", "audit.py"}
    # cli.py hands sys.stdout/sys.stderr to output.redirect; boot.py and scripts/mcp_server.py speak before
    # the library can be imported; audit.py warns that the audit log could not be written.
    assert sorted(o for o in offenders if o.split(":")[0] not in allowed) == []


def test_route_templates_are_written_once_and_scripts_build_no_request():
    for p in [*LIB.rglob("*.py"), *SCRIPTS.glob("*.py")]:
        if p.name == "routes.py":
            continue
        text = p.read_text()
        assert '"/organizations/' not in text and "'/organizations/" not in text, p
    for p in SCRIPTS.glob("*.py"):
        text = p.read_text()
        assert ".build(" not in text and ".call(" not in text or p.name == "check_setup.py", p
