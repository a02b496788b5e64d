"""The architecture, checked (docs/conventions.md, "Layering").

Three checks, each a function of a source root (the folder that holds ``voltpool/``):

- static: no module of the core imports an adapter, a module outside the core or a heavy stack
  (database, plotting, CLI, web, file schemas, ...); every import counts, also inside
  functions, under ``TYPE_CHECKING``, relative ones and ``importlib.import_module("...")``;
- dynamic: importing a core package in a fresh interpreter loads none of the heavy stacks;
- cycles: the import graph between voltpool's packages has no cycle.

The tests run on this checkout; to check another tree (an old commit, say) point them at it:
``VOLTPOOL_SRC_ROOT=/tmp/old/src pytest tests/test_layering.py``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC_ROOT = Path(os.environ.get("VOLTPOOL_SRC_ROOT", Path(__file__).parents[1] / "src")).resolve()

CORE_PACKAGES = ("model", "schedule", "battery", "control", "simulate", "sharing", "backup")
"""The pure core: numpy (and pandas, HiGHS), no I/O, no database, no network, no pictures."""
CORE_SIDE = ("data", "credits", "errors")
"""Core-side modules under the same rules: the real-data loader, the credit rules, the errors."""
CORE = CORE_PACKAGES + CORE_SIDE

ALLOWED_OUTSIDE_CORE = {"scenario": ("simulate",)}
"""Non-core voltpool packages a core package may import: the scenario is the simulator's input."""

ADAPTERS = (
    "ledger",
    "settlement",
    "report",
    "cli",
    "api",
    "ocpp",
    "grid",
    "distributed",
    "files",
    "service",
    "web",
)
LEGACY_ADAPTER_MODULES = {
    "cli_backup": "cli",
    "cli_ledger": "cli",
    "cli_share": "cli",
    "io": "files",
    "tomlfiles": "files",
}
"""Top-level modules of the tree before issue 10 and the adapter package they belong to."""

FORBIDDEN_STACKS = {
    "sqlalchemy": "database",
    "alembic": "database",
    "psycopg": "database",
    "psycopg2": "database",
    "sqlite3": "database",
    "socket": "network",
    "http": "network",
    "plotly": "plotting",
    "matplotlib": "plotting",
    "typer": "command line",
    "click": "command line",
    "rich": "terminal output",
    "fastapi": "web framework",
    "starlette": "web framework",
    "uvicorn": "web server",
    "httpx": "network",
    "requests": "network",
    "websockets": "network",
    "ocpp": "charger protocol",
    "paho": "network (MQTT)",
    "pydantic": "file schema",
    "jsonschema": "file schema",
    "ray": "distributed runner",
    "playwright": "browser",
}
"""Third-party top-level packages no core module may import, with what they are."""

LOADED_STACKS = (
    "sqlalchemy",
    "alembic",
    "plotly",
    "typer",
    "rich",
    "fastapi",
    "uvicorn",
    "psycopg",
)
"""Heavy stacks that importing a core package must not load (pydantic is allowed: the scenario,
the simulator's input model, is a pydantic file schema)."""
LOADED_STACKS_CONTROL = (*LOADED_STACKS, "pydantic", "starlette", "ray")
"""The controller takes plain arrays: nothing it imports needs a file schema either."""
IMPORTED_FRESH = ("control", "simulate")
"""The core packages imported in a fresh interpreter: the controller, and the simulator, which
reaches every other core package (model, schedule, battery, sharing, backup) and the data."""


@dataclass(frozen=True)
class Import:
    """One import statement (or one imported name) of one module."""

    module: str  # the importing module, e.g. ``voltpool.simulate.engine``
    target: str  # the imported module, resolved, e.g. ``voltpool.report.html``
    line: int
    how: str  # "" (module level), "in a function", "type only", "dynamic"


def module_names(src_root: Path) -> dict[str, Path]:
    """Every module of the ``voltpool`` package under ``src_root``, by dotted name."""
    names = {}
    for path in sorted((src_root / "voltpool").rglob("*.py")):
        parts = list(path.relative_to(src_root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _dynamic_target(call: ast.Call) -> str | None:
    """``importlib.import_module("x")`` / ``import_module("x")`` / ``__import__("x")``."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in ("import_module", "__import__") or not call.args:
        return None
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value[:1] != ".":
        return first.value
    return None


def module_imports(module: str, path: Path, known: set[str] | dict[str, Path]) -> list[Import]:
    """Every import of one module, resolved to absolute module names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, how: str) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(module, alias.name, node.lineno, how) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise ValueError(f"{module}:{node.lineno}: relative import beyond voltpool")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                name = submodule if submodule in known else target
                found.append(Import(module, name, node.lineno, how))
        elif isinstance(node, ast.Call) and (target := _dynamic_target(node)):
            found.append(Import(module, target, node.lineno, "dynamic"))
        inner = how
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and not how:
            inner = "in a function"
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, "type only")
            for child in node.orelse:
                visit(child, inner)
            visit(node.test, inner)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "")
    return list(dict.fromkeys(found))  # ``from x import a, b`` is one import of x


def all_imports(src_root: Path) -> list[Import]:
    names = module_names(src_root)
    return [imp for module, path in names.items() for imp in module_imports(module, path, names)]


def unit_of(module: str) -> str | None:
    """The package (or top-level module) right below ``voltpool``; None for the root itself."""
    parts = module.split(".")
    if parts[0] != "voltpool" or len(parts) < 2:
        return None
    return parts[1]


def forbidden_reason(imp: Import) -> str | None:
    """Why a core module may not make this import, or None when it may."""
    top = imp.target.partition(".")[0]
    if top != "voltpool":
        stack = FORBIDDEN_STACKS.get(top)
        return f"{stack} library" if stack else None
    unit = unit_of(imp.target)
    if unit is None or unit in CORE:
        return None
    importer = unit_of(imp.module)
    if importer in ALLOWED_OUTSIDE_CORE.get(unit, ()):
        return None
    if unit in ADAPTERS:
        return f"adapter '{unit}'"
    if unit in LEGACY_ADAPTER_MODULES:
        return f"adapter '{LEGACY_ADAPTER_MODULES[unit]}' (module {unit!r} before its move)"
    if unit in ALLOWED_OUTSIDE_CORE:
        allowed = ", ".join(ALLOWED_OUTSIDE_CORE[unit])
        return f"'{unit}' is not core: only {allowed} may import it"
    return f"'{unit}' is not a core package"


def static_violations(src_root: Path) -> list[str]:
    """``module -> import  [why; where]`` for every forbidden import made by a core module."""
    found: dict[tuple[str, str, str], list[Import]] = defaultdict(list)
    for imp in all_imports(src_root):
        if unit_of(imp.module) in CORE and (reason := forbidden_reason(imp)):
            found[imp.module, imp.target, reason].append(imp)
    lines = []
    for (module, target, reason), imports in found.items():
        where = ", ".join(f"{imp.line}" + (f" ({imp.how})" if imp.how else "") for imp in imports)
        lines.append(f"{module} -> {target}  [{reason}; line {where}]")
    return lines


_WATCH_IMPORTS = r"""
import json, sys
src_root, target, watched = sys.argv[1], sys.argv[2], set(sys.argv[3].split(","))
sys.path.insert(0, src_root)
chains = {}

class Watch:
    # Records, for the first import of each watched package, which modules were importing.
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in watched and top not in chains:
            chain, frame = [], sys._getframe(1)
            while frame is not None:
                mod = frame.f_globals.get("__name__", "?")
                skip = mod.startswith(("importlib", "_frozen_importlib")) or mod == "__main__"
                if not skip and (not chain or chain[-1] != mod):
                    chain.append(mod)
                frame = frame.f_back
            chains[top] = [*reversed(chain), name]
        return None

sys.meta_path.insert(0, Watch())
module = __import__(target, fromlist=["_"])
import voltpool
loaded = sorted(m for m in watched if m in sys.modules)
print(json.dumps({"voltpool": voltpool.__file__, "loaded": loaded, "chains": chains}))
"""


def loaded_stacks(src_root: Path, package: str, watched: tuple[str, ...]) -> dict[str, list[str]]:
    """Import ``package`` in a fresh interpreter; the watched stacks it loaded, each with the
    chain of modules that imported it first (importer first, the stack's module last)."""
    result = subprocess.run(
        [sys.executable, "-c", _WATCH_IMPORTS, str(src_root), package, ",".join(watched)],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        cwd=src_root,
    )
    assert result.returncode == 0, f"import {package} failed:\n{result.stderr[-3000:]}"
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(report["voltpool"]).resolve().is_relative_to(src_root), report["voltpool"]
    return {name: report["chains"].get(name, ["?"]) for name in report["loaded"]}


def package_graph(src_root: Path) -> dict[tuple[str, str], list[Import]]:
    """Edges between voltpool's packages (and top-level modules), with the imports behind each."""
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in all_imports(src_root):
        source, target = unit_of(imp.module), unit_of(imp.target)
        if source and target and source != target and imp.target.startswith("voltpool."):
            edges[source, target].append(imp)
    return dict(edges)


def strongly_connected(nodes: set[str], succ: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components, iteratively; only those with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(succ.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(succ.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def _shortest_cycle(start: str, succ: dict[str, set[str]], allowed: set[str]) -> list[str]:
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(succ.get(node, ())):
            if child not in allowed:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is on no cycle")


def package_cycles(src_root: Path) -> list[str]:
    """Each cycle between packages, shortest through each package, with the imports behind it."""
    edges = package_graph(src_root)
    succ: dict[str, set[str]] = defaultdict(set)
    for source, target in edges:
        succ[source].add(target)
    nodes = set(succ) | {target for _, target in edges}
    lines = []
    for component in strongly_connected(nodes, succ):
        seen = set()
        for start in component:
            cycle = _shortest_cycle(start, succ, set(component))
            turn = cycle.index(min(cycle[:-1]))
            key = tuple(cycle[turn:-1] + cycle[:turn])
            if key in seen:
                continue
            seen.add(key)
            lines.append(" -> ".join((*key, key[0])))
            for source, target in zip(key, (*key[1:], key[0]), strict=True):
                evidence = edges[source, target]
                shown = "; ".join(
                    f"{imp.module}:{imp.line} imports {imp.target}"
                    + (f" ({imp.how})" if imp.how else "")
                    for imp in evidence[:3]
                )
                more = f" (+{len(evidence) - 3} more)" if len(evidence) > 3 else ""
                lines.append(f"    {source} -> {target}: {shown}{more}")
    return lines


# --- the tests --------------------------------------------------------------------------------


def test_the_core_imports_no_adapter_and_no_heavy_stack() -> None:
    violations = static_violations(SRC_ROOT)
    assert not violations, (
        f"{len(violations)} forbidden import(s) in the core (docs/conventions.md, 'Layering'):\n  "
        + "\n  ".join(violations)
    )


@pytest.mark.parametrize("package", IMPORTED_FRESH)
def test_importing_a_core_package_loads_no_heavy_stack(package: str) -> None:
    if not (SRC_ROOT / "voltpool" / package).is_dir():
        pytest.skip(f"voltpool.{package} does not exist under {SRC_ROOT}")
    watched = LOADED_STACKS_CONTROL if package == "control" else LOADED_STACKS
    loaded = loaded_stacks(SRC_ROOT, f"voltpool.{package}", watched)
    assert not loaded, f"import voltpool.{package} loads {', '.join(loaded)}:\n  " + "\n  ".join(
        f"{name}: " + " -> ".join(chain) for name, chain in loaded.items()
    )


def test_packages_form_no_import_cycle() -> None:
    cycles = package_cycles(SRC_ROOT)
    assert not cycles, "import cycles between voltpool's packages:\n  " + "\n  ".join(cycles)


# --- the checks, checked on a small tree with one of every kind of import -----------------------

FAKE_TREE = {
    "voltpool/__init__.py": "",
    "voltpool/errors.py": "",
    "voltpool/model/__init__.py": "from .fleet import Fleet\n",
    "voltpool/model/fleet.py": (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "import numpy as np\n"
        "from voltpool import errors\n"
        "if TYPE_CHECKING:\n"
        "    from voltpool.ledger import Ledger\n"
        "def picture():\n"
        "    from ..report import html\n"
        "    import plotly.graph_objects as go\n"
        "    return importlib.import_module('voltpool.cli')\n"
        "class Fleet:\n"
        "    def rows(self):\n"
        "        from . import fleet\n"
        "        import sqlalchemy\n"
    ),
    "voltpool/simulate/__init__.py": (
        "from voltpool.scenario import Scenario\n"
        "from voltpool.model import Fleet\n"
        "import pydantic\n"
    ),
    "voltpool/battery/__init__.py": "from voltpool.scenario.model import Scenario\n",
    "voltpool/scenario/__init__.py": "from .model import Scenario\n",
    "voltpool/scenario/model.py": (
        "import pydantic\nfrom voltpool.tomlfiles import read\nclass Scenario: ...\n"
    ),
    "voltpool/tomlfiles.py": "def read(): ...\n",
    "voltpool/ledger/__init__.py": "import sqlalchemy\nfrom voltpool.model import Fleet\n",
    "voltpool/report/__init__.py": "from . import html\n",
    "voltpool/report/html.py": "from voltpool.simulate import Scenario\n",
    "voltpool/cli.py": "import typer\nfrom voltpool import report\n",
}


@pytest.fixture
def fake_tree(tmp_path: Path) -> Path:
    for name, text in FAKE_TREE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path


def test_every_kind_of_import_is_seen(fake_tree: Path) -> None:
    found = {
        (imp.target, imp.how)
        for imp in all_imports(fake_tree)
        if imp.module == "voltpool.model.fleet"
    }
    assert found == {
        ("__future__", ""),
        ("typing", ""),
        ("numpy", ""),
        ("voltpool.errors", ""),
        ("voltpool.ledger", "type only"),
        ("voltpool.report.html", "in a function"),
        ("plotly.graph_objects", "in a function"),
        ("voltpool.cli", "dynamic"),
        ("voltpool.model.fleet", "in a function"),
        ("sqlalchemy", "in a function"),
    }


def test_static_check_names_each_forbidden_import(fake_tree: Path) -> None:
    found = {line.split("  [")[0] for line in static_violations(fake_tree)}
    assert found == {
        "voltpool.model.fleet -> voltpool.ledger",
        "voltpool.model.fleet -> voltpool.report.html",
        "voltpool.model.fleet -> plotly.graph_objects",
        "voltpool.model.fleet -> voltpool.cli",
        "voltpool.model.fleet -> sqlalchemy",
        "voltpool.simulate -> pydantic",  # the scenario may use pydantic, simulate may not
        "voltpool.battery -> voltpool.scenario.model",  # the scenario is for simulate only
    }


def test_cycle_check_prints_each_cycle(fake_tree: Path) -> None:
    lines = package_cycles(fake_tree)
    assert [line for line in lines if not line.startswith(" ")] == [
        "cli -> report -> simulate -> model -> cli",  # model imports cli dynamically
        "ledger -> model -> ledger",
        "model -> report -> simulate -> model",
    ]
    type_only = "voltpool.model.fleet:6 imports voltpool.ledger (type only)"
    assert f"    model -> ledger: {type_only}" in lines


def test_dynamic_check_names_the_import_chain(fake_tree: Path) -> None:
    assert loaded_stacks(fake_tree, "voltpool.model", ("sqlalchemy", "pydantic")) == {}
    assert loaded_stacks(fake_tree, "voltpool.report", ("sqlalchemy", "pydantic")) == {
        "pydantic": [
            "voltpool.report",
            "voltpool.report.html",
            "voltpool.simulate",
            "voltpool.scenario",
            "voltpool.scenario.model",
            "pydantic",
        ]
    }


@pytest.mark.parametrize("module", ("service.simulation", "service.sharing", "service.backup"))
def test_the_service_layer_loads_no_cli_or_web_stack(module: str) -> None:
    """The use cases serve the CLI and the API alike: importing one loads neither front end."""
    if not (SRC_ROOT / "voltpool" / "service").is_dir():
        pytest.skip(f"voltpool.service does not exist under {SRC_ROOT}")
    loaded = loaded_stacks(SRC_ROOT, f"voltpool.{module}", ("typer", "rich", "fastapi", "uvicorn"))
    assert not loaded, f"import voltpool.{module} loads {', '.join(loaded)}:\n  " + "\n  ".join(
        f"{name}: " + " -> ".join(chain) for name, chain in loaded.items()
    )
