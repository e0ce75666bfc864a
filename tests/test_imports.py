"""The project's import graph: no cycle between its modules or its packages, and the core
package imports nothing of the rest (grimp builds the graph from the source, every import
statement, those inside functions included; imports under ``if TYPE_CHECKING:`` are left out, as
they never run)."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("core", "engine", "exposures", "scoring_rules", "app")
# the layers, top first: a package may import only those below it
LAYERS = ("app", "engine", "scoring_rules", "exposures", "core")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None, exclude_type_checking_imports=True)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (each holds a cycle), found with
    Tarjan's algorithm, each sorted, in name order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def _module_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


def test_the_cycle_finder_finds_a_cycle_and_only_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_modules(graph: grimp.ImportGraph) -> None:
    found = cycles(_module_edges(graph))
    chains = [
        " -> ".join(graph.find_shortest_chain(part[0], part[1]) or part) + " -> ... -> " + part[0]
        for part in found
    ]
    assert found == [], "import cycles:\n" + "\n".join(chains)


def test_no_import_cycle_between_packages(graph: grimp.ImportGraph) -> None:
    top = {p: set() for p in PACKAGES}
    for module, imported in _module_edges(graph).items():
        for other in imported:
            a, b = module.split(".")[0], other.split(".")[0]
            if a != b:
                top[a].add(b)
    assert cycles(top) == []


def test_each_package_imports_only_the_layers_below(graph: grimp.ImportGraph) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(layers=LAYERS, containers=set())
    assert sorted(f"{d.importer} -> {d.imported}" for d in illegal) == []


def test_core_imports_nothing_of_the_product(graph: grimp.ImportGraph) -> None:
    imported = {
        other
        for module in graph.find_descendants("core") | {"core"}
        for other in graph.find_modules_directly_imported_by(module)
    }
    assert sorted(i for i in imported if not i.startswith("core")) == []
