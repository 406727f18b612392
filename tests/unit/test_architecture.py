"""The dependency rule, checked on the source: libraries stay libraries, vault's packages form no cycle,
modules stay small (ARCHITECTURE.md, STYLE.md)."""

from __future__ import annotations

import ast
import itertools
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("auth", "signing", "storage")
MAX_MODULE_LINES = 400


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def _sources(package: str) -> list[Path]:
    return [p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts]


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_library_imports_neither_vault_nor_another_library(library: str) -> None:
    forbidden = {"vault", *LIBRARIES} - {library}
    offenders = {
        f"{path.relative_to(ROOT)} imports {module}"
        for path in _sources(library)
        for module in _imports(path)
        if module.split(".")[0] in forbidden
    }
    assert not offenders


def _package_graph() -> dict[str, set[str]]:
    """Which subpackage of vault/ imports which other subpackage."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in _sources("vault"):
        parts = path.relative_to(ROOT / "vault").parts
        if len(parts) < 2:
            continue  # the composition root and the CLI may import every package
        for module in _imports(path):
            names = module.split(".")
            if names[0] == "vault" and len(names) > 1 and (ROOT / "vault" / names[1]).is_dir() and names[1] != parts[0]:
                graph[parts[0]].add(names[1])
    return graph


def test_no_two_packages_of_vault_import_each_other() -> None:
    graph = _package_graph()
    assert graph["documents"], "the graph was read (documents imports accounts, core, ...)"
    mutual = {tuple(sorted((a, b))) for a, b in itertools.permutations(graph, 2) if b in graph[a] and a in graph[b]}
    assert not mutual


def test_the_package_graph_has_no_cycle_at_all() -> None:
    graph = _package_graph()
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str, trail: tuple[str, ...]) -> None:
        assert node not in visiting, " -> ".join((*trail, node))
        if node in done:
            return
        visiting.add(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, (*trail, node))
        visiting.discard(node)
        done.add(node)

    for start in sorted(graph):
        visit(start, ())


def test_cross_cutting_http_and_core_import_no_domain() -> None:
    graph = _package_graph()
    assert graph["core"] <= set()
    assert graph["http"] <= {"core"}


@pytest.mark.parametrize("package", ["vault", *LIBRARIES])
def test_no_source_module_is_over_400_lines(package: str) -> None:
    long = {
        f"{path.relative_to(ROOT)}: {n}"
        for path in _sources(package)
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long
