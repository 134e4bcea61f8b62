"""The product's module layout: imports run one way, and dev tools are never imported.

Both tests read the source with `ast` (nothing is imported), so they are fast and need no
database.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("alerts_saas", "integrations")
DEV_ONLY = ("devtools", "flask")


def _product_files() -> Iterator[Path]:
    for package in PRODUCT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.relative_to(ROOT).parts:
                yield path


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _is_type_checking(test: ast.expr) -> bool:
    """`if TYPE_CHECKING:` or `if typing.TYPE_CHECKING:`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, top level or nested in functions, classes and blocks, but not
    the body of an `if TYPE_CHECKING:` (which never runs)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imported_names(path: Path, tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Fully qualified names each import statement can load, with their line.

    `import a.b` gives `a.b`; `from a import b` gives `a` and `a.b` (b may be a submodule);
    relative imports are resolved against the module's package.
    """
    module = _module_name(path)
    package = module if _is_package(path) else module.rpartition(".")[0]
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
            continue
        if node.level:
            base_parts = package.split(".")
            if node.level > 1:
                base_parts = base_parts[: -(node.level - 1)]
            base = ".".join(base_parts)
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        yield source, node.lineno
        for alias in node.names:
            if alias.name != "*":
                yield f"{source}.{alias.name}", node.lineno


def _import_graph() -> dict[str, dict[str, int]]:
    """Product module -> {product module it imports: line of the first such import}."""
    files = {_module_name(path): path for path in _product_files()}
    graph: dict[str, dict[str, int]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: dict[str, int] = {}
        for name, line in _imported_names(path, tree):
            if name in files and name != module:
                edges.setdefault(name, line)
        graph[module] = edges
    return graph


def _strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or not (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def _cycle_in(group: list[str], graph: dict[str, dict[str, int]]) -> list[str]:
    """A shortest cycle through the group's first module, as a path [a, b, ..., a]."""
    start = group[0]
    members = set(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if child in members and child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # unreachable for a real group


def _cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per group of modules that import each other."""
    return [_cycle_in(group, graph) for group in _strongly_connected(graph)]


def _describe(graph: dict[str, dict[str, int]]) -> str:
    lines = []
    for group in _strongly_connected(graph):
        cycle = _cycle_in(group, graph)
        lines.append("Import cycle: " + " -> ".join(cycle))
        if len(group) > len(cycle) - 1:
            lines.append(f"  (one of several among {', '.join(group)})")
        lines.extend(f"  {a} (line {graph[a][b]}) imports {b}" for a, b in pairwise(cycle))
    return "\n".join(lines)


def test_graph_sees_product_modules() -> None:
    graph = _import_graph()
    assert "integrations.pagerduty.delivery" in graph
    assert "alerts_saas.alerts.models" in graph["alerts_saas.alerts.evaluation"]


def test_no_import_cycles() -> None:
    graph = _import_graph()
    cycles = _cycles(graph)
    assert not cycles, _describe(graph)


def test_cycle_detection_reports_the_path() -> None:
    graph = {
        "a": {"b": 1},
        "b": {"c": 2, "e": 5},
        "c": {"a": 3},
        "d": {"a": 4},
        "e": {"f": 6},
        "f": {"e": 7},
    }
    cycles = _cycles(graph)
    assert sorted(cycles) == [["a", "b", "c", "a"], ["e", "f", "e"]]
    assert "b (line 2) imports c" in _describe(graph)
    assert _cycles({"a": {"b": 1}, "b": {}, "c": {"a": 2, "b": 3}}) == []


def test_the_integration_never_imports_the_alerts_app() -> None:
    """Imports run one way (DESIGN.md): alerts imports the delivery engine; the integration
    reaches alerts only from the service's side (`service.alerts`) and through signals. Its
    pages alone (views) may show the alerts app's forms (a service's mute windows)."""
    graph = _import_graph()
    offenders = [
        f"{module} (line {line}) imports {target}"
        for module, targets in graph.items()
        if module.startswith("integrations.pagerduty")
        and not module.startswith("integrations.pagerduty.views")
        for target, line in targets.items()
        if target.startswith("alerts_saas.alerts")
    ]
    assert not offenders, "\n".join(offenders)


def test_accounts_never_imports_the_apps_on_top_of_it() -> None:
    """Imports run one way (DESIGN.md): every app imports `accounts`, the base app, which
    imports none of them. What needs them all, deleting an organization, is its own package
    on top (`alerts_saas.org_deletion`); what they hear of accounts' changes that no model
    signal says, it tells through its own signals (`accounts.signals`: an invitation used)."""
    on_top = ("alerts_saas.alerts", "alerts_saas.audit", "alerts_saas.ingest", "integrations")
    graph = _import_graph()
    offenders = [
        f"{module} (line {line}) imports {target}"
        for module, targets in graph.items()
        if module == "alerts_saas.accounts" or module.startswith("alerts_saas.accounts.")
        for target, line in targets.items()
        if any(target == top or target.startswith(f"{top}.") for top in on_top)
    ]
    assert not offenders, "\n".join(offenders)


def test_product_never_imports_dev_tools() -> None:
    offenders = []
    for path in _product_files():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):  # every import, `if TYPE_CHECKING:` included
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                if name.split(".")[0] in DEV_ONLY:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_test_modules_have_unique_basenames() -> None:
    """pytest imports test modules by basename (the folders have no __init__.py): two files
    of one name stop the whole run on a clean clone."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
