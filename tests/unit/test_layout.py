"""The package's layout keeps its promise: subpackages in one order, each importing only those below it, no cycles.

Every module under ``ksc/`` is read (the book machinery included), and every import of a ``ksc`` module counts,
also one placed inside a function: an import moved into a function to dodge a cycle is still a cycle here.
"""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# From the bottom up; a module may import from its own subpackage and from those before it in this list.
LAYERS = [
    "runtime",
    "data",
    "measures",
    "models",
    "saes",
    "randomness",
    "evidence",
    "chapters",
    "conclusions",
    "pages",
    "book",
]
TOP_LEVEL = {"ksc", "ksc.__main__"}  # the package itself (its environment set-up, __version__) and `python -m ksc`


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / "ksc").rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The ksc modules ``name`` imports, anywhere in its source; ``from pkg import mod`` counts as ``pkg.mod``."""
    return _imports_of_source(name, path.read_text(), known, path)


def _imports_of_source(name: str, source: str, known: set[str], path: Path) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "ksc"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "ksc":
                continue
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in known else module)
    return found - {name}


def _layer(module: str) -> int | None:
    """The position of the module's subpackage in LAYERS; None for the package itself and ``__main__``."""
    if module in TOP_LEVEL:
        return None
    return LAYERS.index(module.split(".")[1])


def _upward(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} ({LAYERS[_layer(module)]}) imports {target} ({LAYERS[_layer(target)]})"
        for module, targets in graph.items()
        if _layer(module) is not None
        for target in targets
        if target != "ksc" and (_layer(target) is None or _layer(target) > _layer(module))
    ]


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    cycles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, set(modules)) for name, path in modules.items()}


def test_every_module_lives_in_a_declared_subpackage():
    stray = [m for m in _modules() if m not in TOP_LEVEL and m.split(".")[1] not in LAYERS]
    assert stray == [], f"modules outside the declared subpackages {LAYERS}: {stray}"
    top = [m for m in _modules() if m.count(".") == 1 and (ROOT / (m.replace(".", "/") + ".py")).exists()]
    assert len(top) <= 6, f"modules at the top of ksc: {top}"


def test_imports_only_go_down_the_layers(graph):
    assert _upward(graph) == [], "\n".join(_upward(graph))


def test_no_import_cycles_anywhere(graph):
    assert _cycles(graph) == [], "import cycles:\n" + "\n".join(_cycles(graph))


def test_the_layer_checks_fail_on_an_upward_import_a_cycle_and_an_import_inside_a_function(tmp_path):
    """The checks above can fail: made-up modules with an upward import, a cycle through a function-level import."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from ksc.book import build\n")
    found = _imports("ksc.data.m", module, {"ksc.book.build"})
    assert found == {"ksc.book.build"}
    made_up = {"ksc.data.m": found, "ksc.book.build": {"ksc.data.m"}}
    assert _upward(made_up) == ["ksc.data.m (data) imports ksc.book.build (book)"]
    assert _cycles(made_up) == ["ksc.book.build -> ksc.data.m -> ksc.book.build"]


def _notebook_imports(path: Path, known: set[str]) -> set[str]:
    """The ksc modules a notebook's code cells import."""
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    module = path.with_suffix(".py")
    return _imports_of_source("notebook", code, known, module)


def chapters_using(known: set[str]) -> dict[str, list[str]]:
    """Subpackage -> the chapters (notebook numbers) whose notebook imports from it directly."""
    using = {layer: set() for layer in LAYERS}
    for notebook in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for module in _notebook_imports(notebook, known) - TOP_LEVEL:
            using[module.split(".")[1]].add(notebook.stem[:2])
    return {layer: sorted(stems) for layer, stems in using.items()}


def _readme_rows() -> dict[str, str]:
    """Subpackage -> the 'chapters' cell of the README's table of subpackages."""
    rows = re.findall(r"^\| `ksc\.(\w+)` \| .*? \| (.*?) \|$", (ROOT / "README.md").read_text(), flags=re.M)
    return dict(rows)


def test_readme_names_every_subpackage_with_the_chapters_that_use_it(graph):
    rows = _readme_rows()
    assert set(rows) == set(LAYERS), "README's table of subpackages lists exactly the subpackages"
    for layer, stems in chapters_using(set(graph)).items():
        assert rows[layer] == (", ".join(stems) or "none"), f"README row of ksc.{layer}: chapters {stems}"


def test_modules_stay_small_and_notebooks_thin():
    """No module over 600 lines; a notebook's code cells at most 150 lines, 120 on average over the book."""
    long_modules = {m: n for m, p in _modules().items() if (n := len(p.read_text().splitlines())) > 600}
    assert long_modules == {}, f"split these modules: {long_modules}"
    code_lines = {}
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code_lines[notebook.stem] = sum(
            len("".join(c["source"]).splitlines()) for c in cells if c["cell_type"] == "code"
        )
    assert max(code_lines.values()) <= 150, f"move analysis into ksc.chapters: {code_lines}"
    assert sum(code_lines.values()) / len(code_lines) <= 120, code_lines
