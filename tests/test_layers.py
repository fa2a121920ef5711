"""The package's layers, read from its imports (docs/design.md draws them).

Data flows one way: genetics → model → engines → analysis → outputs → workflows → CLI.
These tests parse every module of ``popsim`` (nothing is imported) and check:

- no import cycle among popsim's own modules, counting imports inside
  functions too (only ``if TYPE_CHECKING:`` imports, which never run, are
  left out);
- a module imports, at module level, only from its own layer or below; an
  import inside a function may reach up only where :data:`REACHING_UP` says why;
- no module imports another package's private (underscore) names.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "popsim"

#: Layer of each module, by the longest matching dotted prefix (lower = nearer the data).
LAYERS = {
    "popsim._version": 0,
    "popsim.errors": 0,
    "popsim.genetics": 1,
    "popsim.model": 2,
    "popsim.engines": 3,
    "popsim.analysis": 4,
    "popsim.simulate": 5,
    "popsim.burnin": 5,
    "popsim.outputs": 5,
    "popsim.provenance": 5,
    "popsim.workflows": 6,
    "popsim.commands": 7,
    "popsim.cli": 7,
    "popsim.__main__": 7,
    "popsim": 8,
}

#: Imports inside a function that reach a higher layer, and why each is there.
REACHING_UP = {
    ("popsim.analysis.results", "popsim.outputs.files"):
        "Result.write(), the one-call convenience of the Python API, writes through outputs",
    ("popsim.analysis.results", "popsim.outputs.figures"):
        "Result.write() draws the result's figures",
    ("popsim.analysis.results", "popsim.provenance"):
        "Result.manifest(), written by Result.write(), is the common provenance block",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """(target module, imported name or None, inside a function) of every import."""

    def __init__(self, module: str, is_package: bool, known: set[str]):
        self.module, self.is_package, self.known = module, is_package, known
        self.found: list[tuple[str, str | None, bool]] = []
        self.depth = 0

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "popsim":
                self.found.append((alias.name, None, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            here = self.module.split(".")
            if not self.is_package:
                here = here[:-1]
            here = here[: len(here) - (node.level - 1)]
            base = ".".join([*here, base] if base else here)
        if base.split(".")[0] != "popsim":
            return
        for alias in node.names:
            child = f"{base}.{alias.name}"
            if child in self.known:  # a submodule
                self.found.append((child, None, self.depth > 0))
            else:
                self.found.append((base, alias.name, self.depth > 0))


def _imports() -> dict[str, list[tuple[str, str | None, bool]]]:
    modules = _modules()
    known = set(modules)
    out = {}
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        out[name] = visitor.found
    return out


def _layer(module: str) -> int:
    best = max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)
    return LAYERS[best]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_every_module_has_a_layer() -> None:
    assert all(_layer(m) is not None for m in _modules())


def test_no_import_cycles() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, found in _imports().items():
        for target, _, _ in found:
            if target != module:
                edges[module].add(target)
    assert _cycles(edges) == []


def test_imports_only_go_down() -> None:
    upward = []
    for module, found in _imports().items():
        for target, _, lazy in found:
            if _layer(target) <= _layer(module) or target == "popsim._version":
                continue
            if lazy and (module, target) in REACHING_UP:
                continue
            upward.append((module, target, "in a function" if lazy else "at module level"))
    assert upward == []


def test_reaching_up_list_is_current() -> None:
    lazy = {(m, t) for m, found in _imports().items() for t, _, is_lazy in found if is_lazy}
    assert set(REACHING_UP) <= lazy


def _package(module: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to (a package's ``__init__`` belongs to itself)."""
    return module if modules[module].name == "__init__.py" else module.rsplit(".", 1)[0]


def test_no_private_names_across_packages() -> None:
    modules = _modules()
    crossing = []
    for module, found in _imports().items():
        for target, name, _ in found:
            private = name is not None and name.startswith("_") and not name.startswith("__")
            if not private or target not in modules:
                continue
            if _package(target, modules) != _package(module, modules):
                crossing.append((module, target, name))
    assert crossing == []
