"""The package's import graph has no cycle, function-local imports included (the layers contract is .ci/run's).

import-linter's layers contract (pyproject.toml, run by `.ci/run`) keeps the packages in one direction; this test
closes the gap it leaves: a cycle between two modules of one package or of the top level, hidden behind an import
inside a function. TYPE_CHECKING-only imports are not imports at run time and do not count.
"""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")


def strongly_connected_groups(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every group of two or more modules that import each other, directly or not."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in edges[module]:
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return groups


def test_tarjan_finds_a_cycle():
    assert strongly_connected_groups({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle_in_the_package():
    graph = grimp.build_graph("keras_alexnet", include_external_packages=False, exclude_type_checking_imports=True)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    assert strongly_connected_groups(edges) == []
