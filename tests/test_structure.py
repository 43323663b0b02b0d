"""flaskgen's own shape: no import cycle between its modules, no module too long to read.

Both are read from the source (an AST walk), so an import inside a function or under
`if TYPE_CHECKING:` counts as much as one at the top: a lazy import hides a cycle from the
interpreter, not from the reader.

flaskgen/audit is checked too since its layering (issue 34 item 1): model, parsers, facts, index,
checks, run, report, every import pointing down.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import REPO

PACKAGE = REPO / "flaskgen"
EXCLUDED: tuple[str, ...] = ()
"""Packages the checks skip (none)."""
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def excluded(name: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in EXCLUDED)


def imported(path: Path, known: set[str]) -> Iterator[str]:
    """The flaskgen modules the file imports anywhere in it (`from pkg import mod` is mod)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            inner = [name for name in names if name in known]
            yield from inner
            if len(inner) < len(names) and node.module in known:
                yield node.module


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: set(imported(path, set(found))) - {name} for name, path in found.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_lazy_cycle(tmp_path: Path) -> None:
    """The walk sees an import inside a function; the finder reports the circle and nothing else."""
    (tmp_path / "a.py").write_text("def f():\n    from pkg import b\n")
    known = {"pkg.a", "pkg.b", "pkg.c"}
    assert set(imported(tmp_path / "a.py", known)) == {"pkg.b"}
    assert cycles({"pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a", "pkg.c"}, "pkg.c": set()}) == [["pkg.a", "pkg.b"]]


def test_no_import_cycle_in_flaskgen() -> None:
    graph = import_graph()
    assert graph.get("flaskgen.cli"), "the walk found no imports: it is broken"
    found = [cycle for cycle in cycles(graph) if not all(excluded(name) for name in cycle)]
    assert found == []


def test_no_module_over_500_lines() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if not excluded(name) and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
