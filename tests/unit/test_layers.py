"""The layers hold: core < status < sync < reserve < app, with no cycle between top-level packages.

Every import counts, also those inside functions; events go up through blinker signals instead.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("core", "status", "sync", "reserve", "app")  # lowest first
RANK = {package: rank for rank, package in enumerate(LAYERS)}


def _imports(path: Path, root: Path = ROOT) -> list[tuple[str, int]]:
    """Return (imported module, line) for every import in the file, relative ones resolved."""
    module = path.relative_to(root).with_suffix("").parts
    package = module[:-1] if path.name != "__init__.py" else module
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join((*base, node.module) if node.module else base)
            else:
                name = node.module or ""
            found += [(name, node.lineno)] + [(f"{name}.{alias.name}", node.lineno) for alias in node.names]
    return found


@lru_cache(maxsize=1)
def package_imports() -> dict[tuple[str, str], list[str]]:
    """Return (importing package, imported package) → where, for imports between top-level packages."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for name, line in _imports(path):
                target = name.split(".")[0]
                if target in RANK and target != package:
                    edges[(package, target)].append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return edges


def test_no_lower_layer_imports_a_higher_one():
    upward = [where for (source, target), places in package_imports().items() if RANK[target] > RANK[source]
              for where in places]
    assert upward == []


def test_no_cycle_between_top_level_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in package_imports():
        graph[source].add(target)

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(step == goal or (step not in seen and reaches(step, goal, seen | {step}))
                   for step in graph[start])

    assert [package for package in LAYERS if reaches(package, package, {package})] == []


def test_the_composition_root_is_the_only_module_that_imports_every_package():
    importers = defaultdict(set)
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            for name, _line in _imports(path):
                if name.split(".")[0] in RANK:
                    importers[str(path.relative_to(ROOT))].add(name.split(".")[0])
    assert [module for module, packages in importers.items() if packages >= set(LAYERS)] == ["app/__init__.py"]


def test_the_layer_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "core" / "sneaky.py"
    module.parent.mkdir()
    module.write_text("def later():\n    from ..reserve import state\n    import sync.outbox\n", encoding="utf-8")
    assert {name for name, _line in _imports(module, tmp_path)} >= {"reserve.state", "sync.outbox"}
