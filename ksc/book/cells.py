"""What every chapter shares: a setup cell first, a provenance cell last, and the meanings in its parameters cell.

- The setup cell (the first code cell) installs ``ksc`` when the notebook runs on Google Colab and
  prints the Keras backend and device. The repository URL lives in one place, ``_config.yml``
  (``repository: url:`` and ``branch:``); Colab receives the notebook alone and cannot read that
  file, so the URL is written into the cell.
- The provenance cell (the last code cell) shows what ran the chapter and for how long, read back
  from the results file the chapter has just written.

- The comment after each name in the ``parameters`` cell is the parameter's meaning from
  ``ksc.book.parameters.RULES``, which ``papermill --help-notebook`` shows.

After changing the URL or a parameter's meaning, or when adding a chapter, run::

    python -m ksc.book.cells        # writes both cells into every notebook in notebooks/

A test fails while any notebook's shared cells differ from what this module writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

from ksc.book.parameters import RULES

ROOT = Path(__file__).resolve().parents[2]
SETUP_ID, PROVENANCE_ID = "colab-setup", "run-provenance"
SETUP_TAGS, PROVENANCE_TAGS = ["hide-input"], ["remove-input"]

PROVENANCE_SOURCE = """from ksc.book.display import show_provenance

show_provenance(chapter)"""


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, str]:
    """(url, branch) of the book's repository, from the Jupyter Book configuration."""
    repo = (yaml.safe_load(Path(config).read_text()) or {}).get("repository") or {}
    if not repo.get("url"):
        raise ValueError(f"{config} has no repository: url:")
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def setup_source(url: str, branch: str) -> str:
    """The setup cell's code: a pip install that only runs on Colab, then one line about the runtime."""
    return f"""# Setup: on Google Colab, install ksc from the book's repository: the science alone,
# so Colab's own TensorFlow, JAX and Keras stay as they are. For JAX (often faster on
# a GPU), first run: import os; os.environ["KERAS_BACKEND"] = "jax"
# Elsewhere this cell only says what runs the chapter.
import subprocess, sys

if "google.colab" in sys.modules:
    package = "ksc @ git+{url}@{branch}"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", package], check=True)
from ksc.runtime.machine import describe_runtime

print(describe_runtime())"""


def parameters_source(source: str) -> str:
    """A parameters cell with each name's comment replaced by its meaning from the parameter table."""
    lines = []
    for line in source.splitlines():
        name, sep, rest = line.partition(" = ")
        if not sep or line.startswith("#"):
            lines.append(line)
            continue
        if name not in RULES:
            raise ValueError(f"parameter {name!r} is not in ksc/book/parameters.py RULES: declare it there first")
        value = rest.split("  #")[0].split(" #")[0].rstrip()
        lines.append(f"{name + ' = ' + value:<25} # {RULES[name].meaning}")
    return "\n".join(lines)


def _index(nb, cell_id: str) -> int | None:
    return next((i for i, c in enumerate(nb.cells) if c.get("id") == cell_id), None)


def _cell(source: str, cell_id: str, tags: list[str]):
    return nbformat.v4.new_code_cell(source, id=cell_id, metadata={"tags": list(tags)})


def install(path: Path, config: Path = ROOT / "_config.yml") -> bool:
    """Puts the setup cell before the first code cell and the provenance cell last; True if the file changed."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    setup = _cell(setup_source(*repository(config)), SETUP_ID, SETUP_TAGS)
    index = _index(nb, SETUP_ID)
    if index is None:
        first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first_code, setup)
    else:
        nb.cells[index] = setup
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = parameters_source(cell.source)
    index = _index(nb, PROVENANCE_ID)
    if index is not None:
        del nb.cells[index]
    nb.cells.append(_cell(PROVENANCE_SOURCE, PROVENANCE_ID, PROVENANCE_TAGS))
    if nbformat.writes(nb) == before:
        return False
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or sorted(
        (ROOT / "notebooks").glob("*.ipynb")
    )
    for path in paths:
        print(f"{path}: {'shared cells and parameter meanings written' if install(path) else 'already up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
