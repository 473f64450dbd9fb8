"""The static import graph of qa_toolkit (and qa_toolkit.widgets) follows ARCHITECTURE.md.

Every module is parsed with ``ast`` (never imported); relative imports are resolved and
imports inside functions count. The rules (issue #12):

(a) no import cycle at all (thin alias modules import downward only, so they are no
    exception); importing ``qa_toolkit.a.b`` from outside package ``a`` also runs
    ``a/__init__``, so that edge is in the graph too;
(b) no ``try: import qa_toolkit...`` fallback (nor ``importlib.import_module`` of a
    qa_toolkit module inside ``try``);
(c) no private name (``_helper``) imported from another top-level package;
(d) imports point down the layers of ARCHITECTURE.md (same layer is fine); the core
    never imports the widgets.

Each rule has a test over the whole tree (the integration target: its message lists every
violation by module) and a test restricted to the upper-layer packages and kernels of
issue #12, which must hold already.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "qa_toolkit"
WIDGETS = ROOT / "widgets"

#: ARCHITECTURE.md "Layers", by the first component under qa_toolkit. Modules that are being
#: moved (label_errors -> errors/, review -> review/...) keep the layer of their new house.
LAYERS: dict[str, int] = {
    **dict.fromkeys(["_validation", "exceptions", "stats", "table", "io", "datasets", "vote", "issue_tables",
                     "_lazy", "_kinds", "_table_checks", "_data", "_entry"], 1),
    **dict.fromkeys(["units", "engines"], 2),
    **dict.fromkeys(["agreement", "aggregation", "errors", "label_errors", "typed_label_errors",
                     "neighbours", "duplicates", "fusion", "clusters"], 3),
    **dict.fromkeys(["triage", "annotators", "release", "review"], 4),
    **dict.fromkeys(["report", "cli", "plotting", "overview", "__main__"], 5),
    "widgets": 6,
}

#: the packages and modules issue #12 built; their rules must hold now
UPPER = ("triage", "annotators", "release", "vote", "issue_tables", "stats",
         # their old paths, now thin aliases
         "sampling", "drift", "gate", "pilot", "queue_units", "annotators_kinds", "gate_fields", "pilot_fields")
UPPER_MODULES = ("qa_toolkit.agreement.label_agreement", "qa_toolkit.aggregation.majority",
                 "qa_toolkit.io.write_escalation")


def _module_files() -> dict[str, Path]:
    files = {}
    for base, prefix in ((PKG, "qa_toolkit"), (WIDGETS, "qa_toolkit.widgets")):
        for path in sorted(base.rglob("*.py")):
            rel = path.relative_to(base).with_suffix("").parts
            if "__pycache__" in rel:
                continue
            parts = rel[:-1] if rel[-1] == "__init__" else rel
            files[".".join((prefix, *parts))] = path
    return files


FILES = _module_files()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, path in FILES.items()}


def _is_package(name: str) -> bool:
    return FILES[name].name == "__init__.py"


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer if _is_package(importer) else importer.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        base = base.rsplit(".", 1)[0]
    return f"{base}.{node.module}" if node.module else base


def _known(name: str) -> str | None:
    """The module ``name`` refers to (itself or its closest importable parent), if ours."""
    while name and name not in FILES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name or None


def _imports(name: str) -> list[tuple[str, list[str], ast.AST]]:
    """(target module, imported names, node) for every import in a module, at any depth."""
    out = []
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("qa_toolkit"):
                    out.append((alias.name, [], node))
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(name, node)
            if mod.startswith("qa_toolkit"):
                out.append((mod, [a.name for a in node.names], node))
    return out


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in FILES}
    for name in FILES:
        for mod, names, _ in _imports(name):
            targets = [f"{mod}.{n}" if f"{mod}.{n}" in FILES else mod for n in names] or [mod]
            for t in targets:
                k = _known(t)
                if k is None or k == name:
                    continue
                graph[name].add(k)
                # importing qa_toolkit.a.b from outside package a runs a/__init__ first
                parts = k.split(".")
                for i in range(2, len(parts)):
                    parent = ".".join(parts[:i])
                    if parent in FILES and not name.startswith(parent + ".") and parent != name:
                        graph[name].add(parent)
    return graph


def _top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_alias(name: str) -> bool:
    doc = ast.get_docstring(TREES[name]) or ""
    return "kept as an alias" in doc


def _ours(name: str) -> bool:
    return _top(name) in UPPER or name in UPPER_MODULES


def _cycles(graph: dict[str, set[str]] | None = None) -> list[list[str]]:
    graph = _edges() if graph is None else graph
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    sccs: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan, iterative enough for this depth
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sccs


def _cycle_path(comp: list[str], graph: dict[str, set[str]]) -> str:
    """One concrete cycle inside a strongly connected component, as 'a -> b -> a'."""
    start, inside = comp[0], set(comp)
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & inside):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return " -> ".join([start, *reversed(path[:-1]), start]) if len(path) > 1 else f"{start} -> {start}"
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return " <-> ".join(comp)


def _try_fallbacks() -> list[str]:
    bad = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Try):
                continue
            for inner in [n for stmt in node.body for n in ast.walk(stmt)]:
                what = None
                if isinstance(inner, ast.Import) and any(a.name.startswith("qa_toolkit") for a in inner.names):
                    what = inner.names[0].name
                elif isinstance(inner, ast.ImportFrom) and _resolve(name, inner).startswith("qa_toolkit"):
                    what = _resolve(name, inner)
                elif (isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute)
                      and inner.func.attr == "import_module" and inner.args
                      and isinstance(inner.args[0], ast.Constant) and str(inner.args[0].value).startswith("qa_toolkit")):
                    what = str(inner.args[0].value)
                if what:
                    bad.append(f"{name} (line {inner.lineno}): try-import of {what}")
    return bad


def _private_imports() -> list[str]:
    bad = []
    for name in FILES:
        for mod, names, node in _imports(name):
            for n in names:
                if not n.startswith("_") or n.startswith("__") or f"{mod}.{n}" in FILES:
                    continue  # public name, dunder, or a (private) module
                src = _known(mod)
                if src is not None and _top(src) != _top(name):
                    bad.append(f"{name} (line {node.lineno}): imports private {n} from {mod}")
    return bad


def _layer(name: str) -> int | None:
    if name == "qa_toolkit":
        return 0
    return LAYERS.get(_top(name))


def _layer_violations() -> list[str]:
    bad = []
    graph = _edges()
    for name in sorted(FILES):
        if _is_alias(name) or name == "qa_toolkit":
            continue  # an alias has its target's layer; the root only re-exports lazily
        lv = _layer(name)
        if lv is None:
            bad.append(f"{name}: no layer assigned (add its top-level name to LAYERS in this test)")
            continue
        for target in sorted(graph[name]):
            lt = _layer(target)
            if target == "qa_toolkit" or lt is None:
                continue
            if lt > lv:
                bad.append(f"{name} (layer {lv}) imports {target} (layer {lt})")
    return bad


def _report(items, what: str) -> str:
    return f"{len(items)} {what}:\n  " + "\n  ".join(map(str, items))


def test_graph_sees_the_packages_and_function_level_imports():
    graph = _edges()
    assert "qa_toolkit.triage.queue" in graph and "qa_toolkit.release.gate" in graph
    assert "qa_toolkit.issue_tables" in graph["qa_toolkit.triage.queue"]
    # a function-level import (agreement.fields inside review_queue) is an edge
    assert "qa_toolkit.agreement.fields" in graph["qa_toolkit.triage.queue"]
    # a cross-package import also runs the package __init__
    assert "qa_toolkit.annotators" in graph["qa_toolkit.triage.queue"]


def test_cycle_finder_finds_a_planted_cycle():
    planted = {"qa_toolkit.x": {"qa_toolkit.y"}, "qa_toolkit.y": {"qa_toolkit.z"}, "qa_toolkit.z": {"qa_toolkit.x"},
               "qa_toolkit.w": {"qa_toolkit.x"}}
    assert _cycles(planted) == [["qa_toolkit.x", "qa_toolkit.y", "qa_toolkit.z"]]
    assert _cycles({"qa_toolkit.x": {"qa_toolkit.y"}, "qa_toolkit.y": set()}) == []


@pytest.mark.parametrize("scope", ["upper_layers", "whole_tree"])
def test_no_import_cycle(scope):
    graph = _edges()
    cycles = _cycles(graph)
    if scope == "upper_layers":
        cycles = [c for c in cycles if any(_ours(m) for m in c)]
    assert not cycles, _report([f"{_cycle_path(c, graph)}   (component: {', '.join(c)})" for c in cycles],
                               "import cycle(s)")


@pytest.mark.parametrize("scope", ["upper_layers", "whole_tree"])
def test_no_try_import_fallbacks(scope):
    bad = [b for b in _try_fallbacks() if scope == "whole_tree" or _ours(b.split(" ")[0])]
    assert not bad, _report(bad, "try-import fallback(s)")


@pytest.mark.parametrize("scope", ["upper_layers", "whole_tree"])
def test_no_private_names_across_packages(scope):
    bad = [b for b in _private_imports() if scope == "whole_tree" or _ours(b.split(" ")[0])]
    assert not bad, _report(bad, "private import(s) across packages")


@pytest.mark.parametrize("scope", ["upper_layers", "whole_tree"])
def test_imports_point_down_the_layers(scope):
    bad = [b for b in _layer_violations() if scope == "whole_tree" or _ours(b.split(" ")[0])]
    assert not bad, _report(bad, "upward import(s)")


def test_core_never_imports_widgets():
    bad = [f"{n} imports {t}" for n, ts in _edges().items() if _top(n) != "widgets"
           for t in ts if _top(t) == "widgets"]
    assert not bad, _report(bad, "core module(s) importing the widgets")


def _is_deprecation_call(stmt: ast.stmt) -> bool:
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "warn"
            and any(isinstance(a, ast.Name) and a.id == "DeprecationWarning" for a in call.args))


def test_alias_modules_are_thin():
    """An alias only re-exports named imports and warns (no star import, no other code)."""
    aliases = [n for n in FILES if _is_alias(n)]
    assert "qa_toolkit.sampling" in aliases and "qa_toolkit.gate" in aliases
    bad = []
    for name in aliases:
        for stmt in TREES[name].body:
            ok = (isinstance(stmt, (ast.Import, ast.ImportFrom)) or
                  (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)) or
                  (isinstance(stmt, ast.Assign) and [getattr(t, "id", None) for t in stmt.targets] == ["__all__"])
                  or _is_deprecation_call(stmt))
            if isinstance(stmt, ast.ImportFrom) and any(a.name == "*" for a in stmt.names):
                ok = False
            if not ok:
                bad.append(f"{name} line {stmt.lineno}")
    assert not bad, _report(bad, "statement(s) in alias modules that are not re-exports")


def test_old_paths_are_aliases_of_the_new_homes():
    """The moved modules' names stay importable from their old paths (same objects)."""
    import importlib

    moved = {
        "qa_toolkit.sampling": ("qa_toolkit.triage.sampling", ["sampling_plan", "select_gold", "gold_leakage"]),
        "qa_toolkit.drift": ("qa_toolkit.annotators.drift", ["cusum", "drift_report", "rolling_quality"]),
        "qa_toolkit.gate": ("qa_toolkit.release.gate", ["CHECKS", "GateResult", "evaluate_gate", "load_gate_config"]),
        "qa_toolkit.pilot": ("qa_toolkit.release", ["pilot_report", "alpha_with_ci", "PilotReport"]),
        "qa_toolkit.queue_units": ("qa_toolkit.triage.units", ["unit_review_queue"]),
        "qa_toolkit.annotators_kinds": ("qa_toolkit.annotators", ["field_annotator_report", "task_mean_ci"]),
        "qa_toolkit.gate_fields": ("qa_toolkit.release.gate_fields", ["provenance", "load_field_checks"]),
        "qa_toolkit.pilot_fields": ("qa_toolkit.release.pilot_fields", ["field_pilot_report", "pilot_size_check"]),
    }
    for old, (new, names) in moved.items():
        o, n = importlib.import_module(old), importlib.import_module(new)
        for name in names:
            assert getattr(o, name) is getattr(n, name), (old, name)
    from qa_toolkit.agreement.label_agreement import confusion_pairs, label_agreement

    assert importlib.import_module("qa_toolkit.gate").label_agreement is label_agreement
    assert importlib.import_module("qa_toolkit.pilot").confusion_pairs is confusion_pairs


def test_no_module_imports_an_alias_and_aliases_warn():
    """The library itself imports only the new homes; the old paths warn with the new one."""
    import importlib
    import sys
    import warnings

    aliases = sorted(n for n in FILES if _is_alias(n))
    users = [f"{n} imports {t}" for n, ts in _edges().items() if not _is_alias(n) for t in ts if t in aliases]
    assert not users, _report(users, "import(s) of deprecated alias modules")
    for name in aliases:
        sys.modules.pop(name, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            importlib.import_module(name)
        msgs = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
        assert any(name in m and "moved to qa_toolkit." in m for m in msgs), (name, msgs)

