"""The arrows between kuaike's packages run one way (DESIGN §3), and no modules import in a circle.

    cli → commands → pipeline → serve → warehouse/track → store → capture → business → base

Every import in every module counts, at module level or inside a function, TYPE_CHECKING ones
included: an import put inside a function to dodge a cycle is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS: list[tuple[str, ...]] = [
    ("config", "errors", "databases", "types", "logs", "__init__"),
    ("business",),
    ("capture",),
    ("store",),
    ("warehouse", "track"),
    ("serve",),
    ("pipeline",),
    ("commands",),
    ("cli", "__main__"),
]
"""kuaike's top-level modules and packages, lowest first: each may import only its own layer
and those below."""


def layer(module: str) -> int:
    """The layer of `kuaike.<top>...`."""
    top = module.split(".")[1] if module.count(".") else "__init__"
    for rank, names in enumerate(LAYERS):
        if top in names:
            return rank
    raise AssertionError(f"{module} is in no layer; add its package to LAYERS")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, known: set[str]) -> set[str]:
    """The kuaike modules `source` (the text of `module`) imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("kuaike")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kuaike"):
            base = node.module or ""
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return found - {module}


def graph(sources: dict[str, str]) -> dict[str, set[str]]:
    known = set(sources)
    return {module: imports(text, module, known) for module, text in sources.items()}


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import that runs from a lower layer to a higher one."""
    return sorted(
        f"{module} imports {target}"
        for module, targets in edges.items()
        for target in targets
        if layer(target) > layer(module)
    )


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles (each as the modules around it), found by depth-first search."""
    found: list[list[str]] = []
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)
    return found


def kuaike_sources() -> dict[str, str]:
    return {
        module_name(path): path.read_text(encoding="utf-8")
        for path in (SRC / "kuaike").rglob("*.py")
    }


def test_no_module_imports_a_higher_layer() -> None:
    assert upward(graph(kuaike_sources())) == []


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert cycles(graph(kuaike_sources())) == []


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("kuaike.capture.cli", "from kuaike import pipeline"),
        ("kuaike.store.writer", "from kuaike.warehouse.runner import build"),
        ("kuaike.business.schema", "    from kuaike.capture.events import Position"),
    ],
)
def test_an_upward_import_is_caught(module: str, line: str) -> None:
    sources = kuaike_sources()
    sources[module] = (
        sources.get(module, "")
        + "\n\ndef later():\n"
        + (line if line.startswith(" ") else "    " + line)
    )
    assert any(v.startswith(f"{module} imports") for v in upward(graph(sources)))


def test_a_cycle_is_caught() -> None:
    sources = kuaike_sources()
    sources["kuaike.capture.events"] += "\nfrom kuaike.capture.postgres import pgoutput\n"
    assert any("kuaike.capture.events" in cycle for cycle in cycles(graph(sources)))
