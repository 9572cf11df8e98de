"""The direction of imports in the product code, and no cycles.

The domain (`models/`) is the centre: it never imports the outside world (`connectors/`), the jobs or the
web layer; connectors implement the domain's ports and know nothing of jobs or pages; jobs never import
the web layer. Every import counts, at module level or inside a function, so a cycle cannot hide in a
late import.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("models", "connectors", "jobs", "web")
#: package → the product packages it must never import.
FORBIDDEN = {
    "models": {"connectors", "jobs", "web"},
    "connectors": {"jobs", "web"},
    "jobs": {"web"},
}


def modules(root: Path, packages: tuple[str, ...] = PRODUCT) -> dict[str, Path]:
    """Dotted module name → file, migrations left out (they are data, and import nothing of ours)."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.relative_to(root).parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path, known: Collection[str]) -> Iterator[str]:
    """Every dotted name an import statement of the module refers to, relative imports resolved.

    `from package import submodule` depends on the submodule, not on what the package's `__init__`
    defines; `from package import name` depends on the package."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:
                yield f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target


def import_graph(root: Path, packages: tuple[str, ...] = PRODUCT) -> dict[str, set[str]]:
    """Module → the product modules it imports (a name resolves to the longest module it starts with)."""
    known = modules(root, packages)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        for target in imported_names(name, path, known):
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(graph.items()):
        banned = FORBIDDEN.get(module.split(".")[0], set())
        found += [f"{module} imports {target}" for target in sorted(targets) if target.split(".")[0] in banned]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
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
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return sorted(groups)


def test_the_domain_imports_no_connector_job_or_page_and_connectors_no_job_or_page() -> None:
    assert layer_violations(import_graph(ROOT)) == []


def test_the_product_code_has_no_import_cycle() -> None:
    assert cycles(import_graph(ROOT)) == []


def test_the_walker_sees_late_relative_and_package_imports(tmp_path: Path) -> None:
    """The rules above can fail: a small tree with one of each mistake is caught."""
    files = {
        "models/__init__.py": "",
        "models/orders/__init__.py": "from . import lifecycle\n",
        "models/orders/lifecycle.py": "def refuse():\n    from models.orders.errors import Refused\n",
        "models/orders/errors.py": "from .lifecycle import refuse\n",
        "models/stock.py": "import connectors.base\n",
        "models/db/__init__.py": "from models.db.engines import fetch\n",
        "models/db/engines.py": "from models.db import sql\n",
        "models/db/sql.py": "from models.db import fetch\n",
        "connectors/__init__.py": "",
        "connectors/base.py": "from models import stock\n",
        "jobs/__init__.py": "",
        "web/__init__.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    graph = import_graph(tmp_path)

    assert graph["models.orders"] == {"models.orders.lifecycle"}
    assert layer_violations(graph) == ["models.stock imports connectors.base"]
    assert graph["models.db.engines"] == {"models.db.sql"}  # a sibling module, not the package's facade
    assert cycles(graph) == [
        ["connectors.base", "models.stock"],
        ["models.db", "models.db.engines", "models.db.sql"],
        ["models.orders.errors", "models.orders.lifecycle"],
    ]
